"""`jinef geocode` end to end: a small CSV with bad rows, and --query --json."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from jinef.cli.main import app
from jinef.model.address import Address


def test_batch_csv_with_bad_rows(tmp_path: Path, small_registry: Path, sample: list[Address]) -> None:
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    good = sample[:5]
    bad = ["", "only latin text", "ا" * 100_000, "abc\x01\x02\x03\x04def", "\ufffd\ufffd\x00"]
    with open(src, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "address"])
        for i, a in enumerate(good):
            w.writerow([f"g{i}", a.standard_address])
        for i, t in enumerate(bad):
            w.writerow([f"b{i}", t])
    r = CliRunner().invoke(app, ["geocode", str(src), "-o", str(dst), "--db", str(small_registry), "--workers", "2"])
    assert r.exit_code == 1, r.output  # every row answered, five of them with no match
    with open(dst, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(good) + len(bad)
    assert list(rows[0])[:2] == ["id", "address"]
    for row, a in zip(rows, good, strict=False):
        assert row["postcode"] == a.postcode and row["match_level"] == "unit"
    for row in rows[len(good):]:
        assert row["match_level"] == "none" and row["reason"], row["id"]


def test_query_json(small_registry: Path, sample: list[Address]) -> None:
    a = sample[1]
    r = CliRunner().invoke(app, ["geocode", "--query", a.standard_address, "--json", "--limit", "3",
                                 "--db", str(small_registry)])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["candidates"][0]["postcode"] == a.postcode
    assert len(data["candidates"]) <= 3


def test_file_to_stdout_without_o(tmp_path: Path, small_registry: Path, sample: list[Address]) -> None:
    src = tmp_path / "in.csv"
    src.write_text("address\n" + "\n".join(a.standard_address for a in sample[:3]) + "\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["geocode", str(src), "--db", str(small_registry), "--workers", "2"])
    assert r.exit_code == 0, r.output  # all matched
    rows = list(csv.DictReader(r.stdout.splitlines()))
    assert [row["postcode"] for row in rows] == [a.postcode for a in sample[:3]]
    assert "geocoded 3 rows" in r.stderr and "geocoded" not in r.stdout


def test_query_without_a_match_exits_1(small_registry: Path) -> None:
    r = CliRunner().invoke(app, ["geocode", "--query", "qwerty", "--db", str(small_registry)])
    assert r.exit_code == 1 and r.stdout.startswith("none\t")
