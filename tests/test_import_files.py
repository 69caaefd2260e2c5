"""Real address files as they come: Persian labels, Windows encodings, and broken files refused row by field."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import subprocess
from pathlib import Path

import pytest

from jinef.image.folder import current_generation
from jinef.model.address import EXPORT_COLUMNS, USAGE_LABELS_FA, Usage
from jinef.model.digits import to_latin_digits, to_persian_digits
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from tests.conftest import EngineRegistries
from tests.test_import import JINEF, export, load, rows_of, write_rows

LOCALITY_EN = {"شهر": "city", "روستا": "village", "آبادی": "hamlet"}


@pytest.fixture(scope="module")
def rows(engine_registries: EngineRegistries) -> list[dict[str, str]]:
    """The first rows of the shared registry's export."""
    return rows_of(export(engine_registries.get("sqlite")))[:120]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `jinef` in a fresh process, as a user does."""
    return subprocess.run([*JINEF, *args], capture_output=True, text=True, timeout=300)


def csv_text(rows: list[dict[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, EXPORT_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def state(db: Path) -> tuple[str, str | None]:
    """The registry file's bytes (hashed) and its current image generation: unchanged means untouched."""
    return hashlib.sha256(db.read_bytes()).hexdigest(), current_generation(db.with_name(f"{db.stem}.image"))


def test_persian_and_english_labels_stored_as_the_codes(rows: list[dict[str, str]], tmp_path: Path,
                                                        divisions: Divisions, boundaries: Boundaries) -> None:
    labels = list(USAGE_LABELS_FA.values())
    written = [dict(r) for r in rows]
    for i, r in enumerate(written):
        r["usage"] = labels[i % len(labels)] if i % 3 else r["usage"].upper()
        r["locality_type"] = LOCALITY_EN[r["locality_type"]] if i % 2 else r["locality_type"]
    want = [dict(r) for r in rows]
    for i, r in enumerate(want):
        if i % 3:
            r["usage"] = next(u.value for u, fa in USAGE_LABELS_FA.items() if fa == labels[i % len(labels)])
    plain, labelled = tmp_path / "plain.sqlite", tmp_path / "labelled.sqlite"
    load(write_rows(tmp_path / "plain.csv", want), plain, divisions, boundaries)
    load(write_rows(tmp_path / "labelled.csv", written), labelled, divisions, boundaries)
    got = export(labelled)
    assert got == export(plain)  # stored as the canonical values: the same registry, byte for byte
    assert {r["usage"] for r in rows_of(got)} <= {u.value for u in Usage}
    assert {r["locality_type"] for r in rows_of(got)} <= set(LOCALITY_EN)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1256"])
def test_every_encoding_detected(encoding: str, rows: list[dict[str, str]], tmp_path: Path,
                                 divisions: Divisions, boundaries: Boundaries) -> None:
    if encoding == "cp1256":
        # Windows-1256 has no Persian digits (files hold Latin ones) and no Persian yeh: Windows writes the
        # Arabic one, which the importer makes Persian again.
        rows = [{k: to_latin_digits(v) for k, v in r.items()} for r in rows]
        rows = [r for r in rows if _encodes(csv_text([r]).replace("ی", "ي"), encoding)]
        assert len(rows) >= 60
    reference = tmp_path / "reference.sqlite"
    load(write_rows(tmp_path / "reference.csv", rows), reference, divisions, boundaries)
    text = csv_text(rows).replace("ی", "ي") if encoding == "cp1256" else csv_text(rows)
    path = tmp_path / f"{encoding}.csv"
    path.write_bytes(text.encode(encoding))
    db = tmp_path / "r.sqlite"
    load(path, db, divisions, boundaries)  # no encoding given: detected
    assert export(db) == export(reference)


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def test_cli_encodings_and_the_encoding_option(rows: list[dict[str, str]], tmp_path: Path) -> None:
    jsonl = tmp_path / "utf16.jsonl"  # JSON Lines in UTF-16 (with its mark), the format told by the extension
    jsonl.write_bytes("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:50]).encode("utf-16"))
    db = tmp_path / "r.sqlite"
    done = cli("import", str(jsonl), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "imported 50 of 50 rows" in done.stderr
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(csv_text(rows[:50]).encode("utf-16-le"))
    before = state(db)
    done = cli("import", str(utf16), "--db", str(db), "--encoding", "utf-8")  # told wrong: refused, not garbled
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert state(db) == before
    done = cli("import", str(utf16), "--db", str(db), "--encoding", "utf-16-le")
    assert done.returncode == 0, done.stderr
    done = cli("import", str(utf16), "--db", str(db), "--encoding", "klingon")
    assert done.returncode == 2 and "unknown --encoding" in done.stderr


def _malformed_files(rows: list[dict[str, str]], tmp_path: Path) -> dict[str, tuple[Path, str, str]]:
    """Broken files: name → (file, the field the error names, the rule)."""
    files: dict[str, tuple[Path, str, str]] = {}
    long = [dict(r) for r in rows[:20]]
    long[4]["building"] = "ب" * 200_000
    files["long_field"] = (write_rows(tmp_path / "long.csv", long), "'building'", "too_long")
    quoted = [dict(r) for r in rows[:20]]
    quoted[2]["unit"] = 'a "quoted" unit'  # read by the csv module, whose own limit is 128 KB
    quoted[6]["building"] = "," * 200_000
    files["long_quoted_field"] = (write_rows(tmp_path / "long_quoted.csv", quoted), "'building'", "too_long")
    lines = [json.dumps(r, ensure_ascii=False) for r in rows[:20]]
    nested = list(lines)
    nested[3] = "[" * 100_000 + "]" * 100_000
    files["nested_jsonl"] = (_lines(tmp_path / "nested.jsonl", nested), "row 4", "malformed_row")
    in_field = list(lines)
    in_field[5] = json.dumps({**rows[5], "building": json.loads("[" * 500 + "]" * 500)})
    files["nested_field"] = (_lines(tmp_path / "nested_field.jsonl", in_field), "row 6", "malformed_row")
    not_object = list(lines)
    not_object[7] = '["1345678901", "تهران"]'
    files["not_an_object"] = (_lines(tmp_path / "list.jsonl", not_object), "row 8", "malformed_row")
    garbage = random.Random(13).randbytes(1 << 16)
    (tmp_path / "garbage.csv").write_bytes(garbage)
    files["binary_csv"] = (tmp_path / "garbage.csv", "header", "wrong_header")
    (tmp_path / "garbage.jsonl").write_bytes(garbage)
    files["binary_jsonl"] = (tmp_path / "garbage.jsonl", "row 1", "malformed_row")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("کد پستی,استان,شهر\n1345678901,تهران,تهران\n", encoding="utf-8")
    files["wrong_header"] = (wrong, "header", "wrong_header")
    order = tmp_path / "order.csv"
    order.write_text(",".join(reversed(EXPORT_COLUMNS)) + "\n", encoding="utf-8")
    files["columns_in_another_order"] = (order, "another order", "wrong_header")
    return files


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_malformed_files_refused_by_row_and_field(rows: list[dict[str, str]], tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    done = cli("import", str(write_rows(tmp_path / "good.csv", rows)), "--db", str(db))
    assert done.returncode == 0, done.stderr
    before = state(db)
    for name, (path, where, rule) in _malformed_files(rows, tmp_path).items():
        done = cli("import", str(path), "--db", str(db))
        message = " ".join(done.stderr.split())
        assert done.returncode == 1, (name, done.stderr)
        assert "Traceback" not in done.stderr, (name, done.stderr)
        assert where in message and f"[{rule}" in message, (name, message)
        assert "the registry is unchanged" in message, (name, message)
        assert state(db) == before, name
        assert not list(tmp_path.glob(".live.sqlite.building-*")), name


def test_skip_bad_skips_a_long_field(rows: list[dict[str, str]], tmp_path: Path, divisions: Divisions,
                                     boundaries: Boundaries) -> None:
    long = [dict(r) for r in rows[:30]]
    long[9]["neighbourhood"] = "x" * 200_000
    s = load(write_rows(tmp_path / "long.csv", long), tmp_path / "r.sqlite", divisions, boundaries, skip_bad=True)
    assert s.loaded == 29 and [(e.row, e.field, e.rule) for _, e in s.rejects] == [(10, "neighbourhood", "too_long")]


def test_format_from_the_extension(rows: list[dict[str, str]], tmp_path: Path) -> None:
    ndjson = tmp_path / "records.ndjson"
    ndjson.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:40]) + "\n", encoding="utf-8")
    done = cli("import", str(ndjson), "--db", str(tmp_path / "r.sqlite"))
    assert done.returncode == 0, done.stderr
    assert "imported 40 of 40 rows" in done.stderr
    assert os.stat(tmp_path / "r.sqlite").st_mode & 0o777 == 0o600


def test_row_errors_and_rejects_follow_lang(rows: list[dict[str, str]], tmp_path: Path) -> None:
    """`jinef --lang fa import` names a bad row's row, field and rule in Persian (no English sentence); the
    rejects file has the reason in English (as always) and in Persian after it; `--lang en` is unchanged."""
    from tests.test_cli import _ENGLISH_WORDS

    bad = [dict(r) for r in rows[:20]]
    bad[2]["postcode"] = "13456"  # row 3: too short
    bad[5]["county"] = "ناکجا"
    bad[8]["floor"] = "سوم"
    bad[11]["postcode"] = bad[0]["postcode"]
    path, db = write_rows(tmp_path / "bad.csv", bad), tmp_path / "r.sqlite"
    persian = cli("--lang", "fa", "import", str(path), "--db", str(db))
    said = " ".join(persian.stderr.split())
    assert persian.returncode == 1 and said.startswith("خطا:"), said
    assert "سطر ۳، ستون «postcode»: کد پستی باید دقیقاً ۱۰ رقم باشد [wrong_length]" in said, said
    assert "چیزی وارد نشد؛ ثبت دست‌نخورده ماند" in said, said
    assert not _ENGLISH_WORDS.search(" ".join(w for w in said.split() if "/" not in w)), said
    english = cli("--lang", "en", "import", str(path), "--db", str(db))
    assert "row 3, field 'postcode': a postcode has exactly 10 digits [wrong_length] — nothing was imported; " \
           "the registry is unchanged" in " ".join(english.stderr.split()), english.stderr
    assert not db.exists()

    rejects = tmp_path / "rejects.csv"
    done = cli("--lang", "fa", "import", str(path), "--db", str(db), "--skip-bad", str(rejects))
    said = " ".join(done.stderr.split())
    assert done.returncode == 0 and "۱۶ سطر از ۲۰ سطر" in said and "۴ سطر پذیرفته نشد" in said, said
    with rejects.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames is not None and reader.fieldnames[-5:] == ["row", "field", "rule", "reason",
                                                                            "reason_fa"]
        got = [(r["row"], r["field"], r["rule"], r["reason"], r["reason_fa"]) for r in reader]
    province = bad[5]["province"]
    assert got == [
        ("3", "postcode", "wrong_length", "a postcode has exactly 10 digits", "کد پستی باید دقیقاً ۱۰ رقم باشد"),
        ("6", "county", "unknown_division", f"no county «ناکجا» in province «{province}»",
         f"شهرستان «ناکجا» در استان «{province}» نیست"),
        ("9", "floor", "not_an_integer", "floor is a whole number (0 = همکف)", "طبقه باید عددی صحیح باشد (۰ = همکف)"),
        ("12", "postcode", "duplicate", f"postcode {bad[0]['postcode']} appears twice in the file",
         f"کد پستی {to_persian_digits(bad[0]['postcode'])} دو بار در پرونده آمده است"),
    ]
    done = cli("--lang", "en", "import", str(path), "--db", str(db), "--skip-bad", str(rejects))
    assert done.returncode == 0 and f"imported 16 of 20 rows into {db}; 4 rejected, see {rejects}" in \
        " ".join(done.stderr.split()), done.stderr
