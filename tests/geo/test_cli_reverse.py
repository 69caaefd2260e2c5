"""`jinef reverse` end to end on the small registry."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from jinef.cli.main import app
from jinef.read.registry.registry import Registry


def test_reverse_csv_keeps_columns_and_reports_bad_rows(small_registry: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("id,y,x\n1,35.7,51.4\n2,۳۵٫۷,۵۱٫۴\n3,abc,51\n4,95,51\n5,26.9,51.6\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["reverse", str(src), "-o", str(out), "--lat-column", "y", "--lon-column", "x",
                                   "--db", str(small_registry), "--radius", "100000"])
    assert res.exit_code == 1, res.output  # some points found no building: answered, but not all found
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert list(rows[0]) == ["id", "y", "x", "postcode", "standard_address", "distance_m", "province", "county",
                             "plus_code", "reason"]
    assert rows[0]["province"] == "تهران" and rows[0]["postcode"] and rows[0]["reason"] == ""
    with Registry.open(small_registry) as reg:
        nearest = reg.lookup(rows[0]["postcode"])
    assert nearest is not None and rows[0]["standard_address"] == nearest.standard_address
    assert [r["standard_address"] for r in rows[2:]] == ["", "", ""]
    assert {k: rows[1][k] for k in ("postcode", "province", "county", "plus_code")} == \
        {k: rows[0][k] for k in ("postcode", "province", "county", "plus_code")}
    assert [r["reason"] for r in rows[2:]] == ["unparseable_lat", "lat_out_of_range", "outside_iran"]


def test_reverse_point_json(small_registry: Path) -> None:
    res = CliRunner().invoke(app, ["reverse", "--point", "35.7,51.4", "--json", "--db", str(small_registry)])
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    assert body["province"]["name"] == "تهران" and body["plus_code"] == "8H7HPC22+22"
    with Registry.open(small_registry) as reg:
        nearest = reg.lookup(body["postcode"])
    assert nearest is not None and body["standard_address"] == nearest.standard_address


def test_reverse_all_found_to_stdout_exits_0(small_registry: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text("lat,lon\n35.7,51.4\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["reverse", str(src), "--db", str(small_registry), "--radius", "100000"])
    assert res.exit_code == 0, res.output
    header, row = res.stdout.splitlines()
    assert header.startswith("lat,lon,postcode,standard_address,") and "استان تهران" in row


def test_reverse_point_invalid_names_the_rule_and_exits_1(small_registry: Path) -> None:
    res = CliRunner().invoke(app, ["reverse", "--point", "91,49", "--db", str(small_registry)])
    assert res.exit_code == 1 and res.stdout == ""
    assert "invalid point '91,49': lat must be between -90 and 90 [lat_out_of_range]" in res.stderr
    res = CliRunner().invoke(app, ["reverse", "--point", "35.7,abc", "--json", "--db", str(small_registry)])
    assert res.exit_code == 1 and "[lon_not_a_number]" in res.stderr
    body = json.loads(res.stdout)
    assert body["status"] == "invalid" and body["lon"] is None and body["reason"] == "lon_not_a_number"


def test_reverse_point_outside_iran_exits_1(small_registry: Path) -> None:
    res = CliRunner().invoke(app, ["reverse", "--point", "48.85,2.35", "--db", str(small_registry)])
    assert res.exit_code == 1 and res.stdout.startswith("outside_iran")
