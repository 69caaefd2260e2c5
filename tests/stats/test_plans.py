"""Plans with Solar Hijri deadlines, dated snapshots, and a plan's progress moving when the registry changes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from jinef.write.edit.editor import RegistryEditor
from jinef.write.stats import compute_dashboard
from jinef.write.stats.jalali import jalali, parse_jalali
from jinef.write.stats.plans import PlanStore, dashboard_db_path
from tests.conftest import pg_location
from tests.living.conftest import city_building, parts_beside
from tests.stats.conftest import unit_places
from tests.test_cli import run


def test_solar_hijri_dates_both_ways() -> None:
    assert parse_jalali("1405-06-31") == date(2026, 9, 22)
    assert parse_jalali("۱۴۰۴/۰۱/۰۱") == date(2025, 3, 21)  # Nowruz, Persian digits and slashes
    assert parse_jalali("1403-12-30") == date(2025, 3, 20)  # 1403 is a leap year: Esfand has 30 days
    assert jalali(date(2026, 9, 22)) == "1405-06-31"
    for bad in ("1404-12-30", "1405-13-01", "1405-6", "tomorrow"):
        with pytest.raises(ValueError, match=bad):
            parse_jalali(bad)


def test_plans_are_checked_and_replaced_by_province_measure_and_deadline(engine: str, tmp_path: Path,
                                                                        request: pytest.FixtureRequest) -> None:
    target = tmp_path / "d.sqlite" if engine == "sqlite" else pg_location(request.getfixturevalue("pg_dsn"), "plans")
    with PlanStore(target) as store:
        known = {"23", "00"}
        with pytest.raises(ValueError, match="unknown measure 'flats'"):
            store.set_plan("23", "flats", 1, "1405-06-31", provinces=known)
        with pytest.raises(ValueError, match="open_requests"):
            store.set_plan("23", "open_requests", 1, "1405-06-31", provinces=known)
        with pytest.raises(ValueError, match="out of range"):
            store.set_plan("23", "geocoded_share", 1.5, "1405-06-31", provinces=known)
        with pytest.raises(ValueError, match="not a province"):
            store.set_plan("99", "units", 1, "1405-06-31", provinces=known)
        first = store.set_plan("23", "units", 100, "1405-06-31", provinces=known)
        again = store.set_plan("23", "units", 120, "۱۴۰۵-۰۶-۳۱", note="revised", provinces=known)
        store.set_plan("00", "geocoded_share", 0.95, "1405-12-29", provinces=known)
        assert again.id == first.id and again.target == 120 and again.deadline == "2026-09-22"
        assert [p.province_code for p in store.plans()] == ["00", "23"]
        assert [p.measure for p in store.plans("23")] == ["units"]


def test_progress_moves_when_the_registry_changes_and_a_snapshot_is_taken(engine: str,
                                                                          editable: Path | str) -> None:
    near = city_building(editable)
    province = unit_places(editable)[int(near.postcode)][1]
    with PlanStore(dashboard_db_path(editable)) as store:  # a file beside, or schema <registry>_dashboard
        plan = store.set_plan(province, "units", 10_000, "1405-12-29")
        assert store.progress(plan)["trajectory"] == [] and store.progress(plan)["latest"] is None
        store.snapshot(compute_dashboard(editable))
        before = store.progress(plan)
        with RegistryEditor.open(editable) as ed:
            ed.create_building(parts_beside(near, plate="۸۸"), [{"floor": f} for f in range(3)])
        store.snapshot(compute_dashboard(editable))
        after = store.progress(plan)
    units_now = sum(1 for v in unit_places(editable).values() if v[0] == "active" and v[1] == province)
    assert [p["value"] for p in after["trajectory"]] == [units_now - 3, units_now]
    assert before["latest"] == units_now - 3 and after["latest"] == units_now
    assert after["reached"] == round(units_now / 10_000, 6) > before["reached"]
    assert after["trajectory"][1]["day_jalali"].startswith("14")


def test_plans_and_snapshot_commands(engine: str, editable: Path | str) -> None:
    db = str(editable)
    made = run("plans", "set", "تهران", "geocoded_share", "0.9", "1405-06-31", "--db", db, "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["province_code"] == "23"
    bad = run("plans", "set", "تهران", "units", "10", "1405-13-01", "--db", db)
    assert bad.returncode == 1 and "1405-13-01" in bad.stderr
    shot = run("stats", "snapshot", "--db", db, "--json")
    assert shot.returncode == 0, shot.stderr
    with PlanStore(dashboard_db_path(db)) as store:  # where the commands put them by default
        assert len(store.trajectory("province", "23", "geocoded_share")) == 1
    listed = json.loads(run("plans", "list", "--province", "23", "--db", db, "--json").stdout)
    assert len(listed) == 1 and listed[0]["latest"] == 1.0 and len(listed[0]["trajectory"]) == 1
    provinces = json.loads(run("stats", "provinces", "--db", db, "--json").stdout)["provinces"]
    counts = json.loads(run("stats", "--db", db, "--json").stdout)  # the old per-province counts still answer
    assert [p["units"] for p in provinces] == [c["active_units"] for c in counts]
