"""The column-wise importer against the row-by-row one it replaced (tests/reference_importer.py).

Same rows in, same registry tables out (ids included), same rejects and the same first error, for
clean and damaged files, CSV and JSON Lines, fresh and appended registries, and with batches small
enough that keys, postcodes and names meet again across batches.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import jinef.write.ingest.import_reader as import_reader
from jinef.model.address import EXPORT_COLUMNS
from jinef.write.ingest.importer import ImportError_, import_file
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.store.open import open_reader, open_writer
from jinef.write.store.tables import TABLES
from tests import reference_importer
from tests.test_import import export, rows_of, stored_stats, write_rows

Location = Path | str
NewLocation = Callable[[str], Location]


@pytest.fixture(params=["big", "small"])
def batches(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Batches of the real size, or of a few rows (keys and postcodes then meet across batches)."""
    if request.param == "small":
        monkeypatch.setattr(import_reader, "_BLOCK_BYTES", 4096)
        monkeypatch.setattr(import_reader, "_BATCH_ROWS", 50)
        monkeypatch.setattr(import_reader, "_PY_BATCH_ROWS", 7)
    return str(request.param)


def run(importer: Callable[..., Any], path: Path, db: Location, div: Divisions, bnd: Boundaries,
        **kw: Any) -> Any:
    """Import with ``importer`` and commit; the error (and an aborted writer) when it refuses."""
    w = open_writer(db, mode="append" if kw.get("append") else "replace")
    try:
        result = importer(path, w, div, bnd, **kw)
    except (ImportError_, reference_importer.ImportError_) as exc:
        w.abort()
        return exc.error
    except BaseException:
        w.abort()
        raise
    w.commit()
    return result


def tables(db: Location) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every registry table, in id (or key) order."""
    reader = open_reader(db)
    try:
        out = {}
        for t, cols in TABLES.items():
            if t == "meta":
                continue
            c = reader.columns(t, list(cols))
            out[t] = list(zip(*(c[k].tolist() for k in cols), strict=True))
        return out
    finally:
        reader.close()


def same_import(path: Path, new_location: NewLocation, div: Divisions, bnd: Boundaries, **kw: Any) -> Any:
    """Import ``path`` with both importers into fresh registries; assert the same outcome; return it."""
    new, old = new_location("new"), new_location("old")
    got = run(import_file, path, new, div, bnd, **kw)
    want = run(reference_importer.import_file, path, old, div, bnd, **kw)
    if isinstance(want, reference_importer.RowError):
        assert (got.row, got.field, got.rule, got.message) == (want.row, want.field, want.rule, want.message)
        return got
    assert (got.rows, got.loaded, got.rejected) == (want.rows, want.loaded, want.rejected)
    assert [(r, (e.row, e.field, e.rule, e.message)) for r, e in got.rejects] == \
        [(r, (e.row, e.field, e.rule, e.message)) for r, e in want.rejects]
    assert tables(new) == tables(old)
    return got


@pytest.fixture(scope="module")
def sample(engine_registries: Any) -> list[dict[str, str]]:
    """Rows of the shared engine registry's export."""
    return rows_of(export(engine_registries.get("sqlite")))


def damaged(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Every rule broken somewhere, in several ways, with rows that share keys around them."""
    rows = [dict(r) for r in rows[:600]]

    def put(i: int, **values: str) -> None:
        rows[i].update(values)

    put(3, postcode="1045678901")  # 0 in the first five
    put(5, postcode=rows[9]["postcode"])  # the first of two rows with one code: the later one is the duplicate
    put(8, postcode="۱۳۴۵۶-۷۸۹۰۱")  # Persian digits and a dash: valid, canonicalised
    put(11, postcode="   ")
    put(12, postcode="1111111111")
    put(13, postcode="13456")
    put(14, postcode="12345x7890")
    put(20, lat="abc")
    put(21, lon="1e400")
    put(22, lat=" 35.70000001 ", lon="51.4")  # parsed by Python, rounded to 7 decimals
    put(23, lat="nan")
    put(24, lat="95.0")
    put(30, province="آتلانتیس")
    put(31, province=" استان " + rows[31]["province"] + " ")
    put(32, county="ناکجا")
    put(33, district="ناکجا")
    put(34, rural_district="ناکجا")
    put(35, district="", rural_district="")
    put(40, locality_type="شهرک")
    put(41, locality="")
    put(42, locality="  " + rows[42]["locality"] + " ")
    put(50, last_thoroughfare="آزادی")
    put(51, prev_thoroughfare="گذر آزادی")
    put(52, prev_thoroughfare="بن بست نهم")
    put(53, last_thoroughfare="  ")
    put(60, floor="سوم")
    put(61, floor="۳")
    put(62, floor=" -1 ")
    put(63, floor="0")
    put(64, floor="")
    put(70, usage="palace")
    put(71, usage="")
    put(72, usage=" commercial ")
    put(73, usage="مسكوني")  # the Persian label, Arabic letters: stored as residential
    put(74, usage="Workshop")
    put(43, locality_type="village")
    put(44, locality_type=" City ")
    put(80, lat="41.0", lon="29.0")  # Istanbul
    put(90, neighbourhood=" ", plate=" 12 ", entrance="", building="برج میلاد", unit="واحد ۳")
    put(91, building='ساختمان "نور"', unit="a,b")  # quotes and a comma: the csv module reads those rows
    put(92, building="'=SUM(1)", unit="'", entrance="''x")  # neutralised cells: restored on import
    put(100, postcode=rows[3]["postcode"])  # the code of a rejected row (zero in the route): not a duplicate
    put(101, postcode=rows[20]["postcode"])  # the code of a row rejected after the postcode rules: a duplicate
    rows += [dict(r) for r in rows[200:260]]  # units of known buildings again (postcode duplicates)
    return rows


def test_clean_file_same_registry(sample: list[dict[str, str]], new_location: NewLocation, tmp_path: Path,
                                  divisions: Divisions, boundaries: Boundaries, batches: str) -> None:
    path = write_rows(tmp_path / "clean.csv", sample)
    s = same_import(path, new_location, divisions, boundaries)
    assert s.loaded == len(sample)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_damaged_file_same_rejects_and_registry(sample: list[dict[str, str]], new_location: NewLocation,
                                                tmp_path: Path, divisions: Divisions, boundaries: Boundaries,
                                                batches: str, fmt: str) -> None:
    rows = damaged(sample)
    path = write_rows(tmp_path / "bad.csv", rows) if fmt == "csv" else write_jsonl(tmp_path / "bad.jsonl", rows)
    s = same_import(path, new_location, divisions, boundaries, fmt=fmt, skip_bad=True)
    assert s.rejected > 20
    first = same_import(path, new_location, divisions, boundaries, fmt=fmt)
    assert (first.row, first.field) == (4, "postcode")


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    import json

    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines[7] = "{not json"
    lines[17] = json.dumps({**rows[17], "floor": 3, "lat": 35.7, "unit": None}, ensure_ascii=False)
    lines[27] = json.dumps({k: v for k, v in rows[27].items() if k != "unit"}, ensure_ascii=False)
    lines[37] = json.dumps({**rows[37], "lat": float("nan")}, ensure_ascii=False)  # NaN: json reads it, orjson not
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    return path


def test_malformed_rows_same_reports(sample: list[dict[str, str]], new_location: NewLocation, tmp_path: Path,
                                     divisions: Divisions, boundaries: Boundaries, batches: str) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(EXPORT_COLUMNS)
    for i, r in enumerate(sample[:300]):
        values = [r[c] for c in EXPORT_COLUMNS]
        if i == 150:
            buf.write("\n")  # an empty line: a row of no fields for the csv module
        if i == 170:
            values = values[:5]
        if i == 180:
            values[12] = "line one\nline two"  # a quoted line break inside a value
        w.writerow(values)
    path = tmp_path / "malformed.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    s = same_import(path, new_location, divisions, boundaries, skip_bad=True)
    assert {e.rule for _, e in s.rejects} == {"malformed_row"}
    first = same_import(path, new_location, divisions, boundaries)
    assert first.rule == "malformed_row" and first.row == 151


def test_append_same_registry(sample: list[dict[str, str]], new_location: NewLocation, tmp_path: Path,
                              divisions: Divisions, boundaries: Boundaries, batches: str) -> None:
    first = write_rows(tmp_path / "a.csv", sample[:400])
    second = write_rows(tmp_path / "b.csv", [*sample[300:700], *sample[380:390]])  # overlaps: registered, dups
    new, old = new_location("new"), new_location("old")
    for db, importer in ((new, import_file), (old, reference_importer.import_file)):
        run(importer, first, db, divisions, boundaries)
        run(importer, second, db, divisions, boundaries, append=True, skip_bad=True)
    assert tables(new) == tables(old)
    assert sum(st.units for st in stored_stats(new)) == 700


def test_header_and_empty_file(new_location: NewLocation, tmp_path: Path, divisions: Divisions,
                               boundaries: Boundaries) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert same_import(empty, new_location, divisions, boundaries).rule == "empty_file"
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(EXPORT_COLUMNS) + "\n", encoding="utf-8")
    assert same_import(header_only, new_location, divisions, boundaries).loaded == 0
    bom = tmp_path / "bom.csv"  # UTF-8's byte order mark is read as the mark it is (tests/test_import_files.py)
    bom.write_text("\ufeff" + ",".join(EXPORT_COLUMNS) + "\n", encoding="utf-8")
    assert run(import_file, bom, new_location("bom"), divisions, boundaries).loaded == 0


def test_not_utf8_is_unreadable(sample: list[dict[str, str]], tmp_path: Path, new_location: NewLocation,
                                divisions: Divisions, boundaries: Boundaries) -> None:
    path = write_rows(tmp_path / "latin.csv", sample[:50])
    path.write_bytes(path.read_bytes() + b"\xff\xfe,broken\n")
    w = open_writer(new_location("r"))
    try:
        with pytest.raises(ImportError_) as info:  # UTF-8 with a broken byte: refused as such, not as a traceback
            import_file(path, w, divisions, boundaries)
    finally:
        w.abort()
    assert info.value.error.rule == "not_text" and "--encoding" in info.value.error.message
