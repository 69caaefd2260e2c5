"""`jinef units add|update|retire`, `jinef history` and `jinef changes` on a real registry file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jinef.model.postcode import is_valid
from tests.living.conftest import city_building, parts_beside
from tests.test_cli import run


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_units_commands_allocate_change_retire_and_show_history(editable: Path | str, tmp_path: Path) -> None:
    db = str(editable)
    a = city_building(editable)
    body = tmp_path / "building.json"
    body.write_text(json.dumps({**parts_beside(a), "units": [{"floor": 1, "unit": "1", "usage": "مسکونی"},
                                                            {"floor": 2, "unit": "2"}]}, ensure_ascii=False))
    added = run("units", "add", "--file", str(body), "--db", db, "--json")
    assert added.returncode == 0, added.stderr
    result = json.loads(added.stdout)
    assert len(result["postcodes"]) == 2 and all(map(is_valid, result["postcodes"]))
    more = run("units", "add", "--building", str(result["building_id"]), "--count", "2", "--db", db)
    assert more.returncode == 0, more.stderr
    extra = more.stdout.split()
    assert len(extra) == 2 and not set(extra) & set(result["postcodes"])
    p = result["postcodes"][0]
    changed = run("units", "update", p, "--set", "usage=تجاری", "--reason", "change_of_use", "--db", db)
    assert changed.returncode == 0, changed.stderr
    retired = run("units", "retire", p, "--reason", "demolished", "--db", db)
    assert retired.returncode == 0, retired.stderr
    again = run("--lang", "fa", "units", "retire", p, "--db", db)
    assert again.returncode == 1 and "retired" in again.stderr and "باطل" in again.stderr
    history = json.loads(run("history", p, "--db", db, "--json").stdout)
    assert [v["kind"] for v in history] == ["create", "update", "retire"]
    assert history[1]["address"]["usage"] == "commercial" and history[2]["org"] == "local"
    shown = run("history", p, "--db", db)
    assert shown.returncode == 0 and "retire" in shown.stdout
    feed = json.loads(run("changes", "--since", "0", "--db", db, "--json").stdout)
    assert [c["kind"] for c in feed["changes"]] == ["create"] * 4 + ["update", "retire"]
    assert feed["next"] == 6
    bad = run("units", "add", "--building", "1", "--file", str(body), "--db", db)
    assert bad.returncode == 2
    wrong = run("units", "update", p.replace(p[-1], "x"), "--set", "floor=1", "--db", db)
    assert wrong.returncode == 1 and "postcode" in wrong.stderr
