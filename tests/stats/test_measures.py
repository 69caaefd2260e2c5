"""The dashboard's figures equal independent counts: Python over the read side's addresses, or over raw table
rows joined in Python, never the measures' own SQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from jinef.api.servicedb import open_store
from jinef.common.config import RegistryLocation
from jinef.common.pg_location import parse_location
from jinef.model.postcode import from_int
from jinef.read.registry.registry import Registry
from jinef.read.verify.store import OPEN_STATES
from jinef.write.edit.editor import RegistryEditor
from jinef.write.stats import compute, compute_dashboard, open_source
from jinef.write.stats import measures as M
from jinef.write.stats.compute import served_by_type
from jinef.write.stats.jalali import jalali, tehran_day
from tests.conftest import EngineRegistries, pg_location
from tests.living.conftest import city_building, parts_beside
from tests.stats.conftest import make_hub, make_service, unit_places


def test_registry_measures_equal_counts_over_the_read_side(engine: str, engine_registries: EngineRegistries,
                                                          request) -> None:  # type: ignore[no-untyped-def]
    dsn = request.getfixturevalue("pg_dsn") if engine == "postgres" else None
    location = engine_registries.get(engine, dsn)
    board = compute_dashboard(location)
    units: Counter[tuple[str, str]] = Counter()
    buildings: dict[tuple[str, str], set[int]] = {}
    geocoded: Counter[tuple[str, str]] = Counter()
    with Registry.open(location) as reg:
        for a in reg.addresses():
            units[(a.province, a.county)] += 1
            buildings.setdefault((a.province, a.county), set()).add(int(a.building_id or 0))
            geocoded[(a.province, a.county)] += a.geocode_quality == 3
    assert sum(units.values()) > 1000
    for c in board.counties:
        key = (c.province, c.name)
        assert c.values["units"] == units[key], key
        assert c.values["buildings"] == len(buildings.get(key, ())), key
        if units[key]:
            assert abs(c.values["geocoded_share"] - geocoded[key] / units[key]) < 1e-6  # type: ignore[operator]
        else:
            assert c.values["geocoded_share"] is None
    for p in board.provinces:
        mine = [k for k in units if k[0] == p.name]
        assert p.values["units"] == sum(units[k] for k in mine)
        assert p.values["buildings"] == sum(len(buildings[k]) for k in mine)
    assert sum(p.values["units"] for p in board.provinces) == sum(units.values())  # type: ignore[misc]
    assert len(board.provinces) == 31


def test_edits_move_units_buildings_and_the_monthly_series(engine: str, editable: Path | str) -> None:
    near = city_building(editable)
    with RegistryEditor.open(editable) as ed:
        made = ed.create_building(parts_beside(near, plate="۷۷"), [{"floor": 1, "unit": "1"}, {"floor": 2}])
        victim = next(p for p, v in unit_places(editable).items() if v[0] == "active" and p not in
                      {int(x) for x in made.postcodes})
        ed.retire(from_int(victim))
    board = compute_dashboard(editable)
    places = unit_places(editable)  # raw rows, joined in Python
    active = [v for v in places.values() if v[0] == "active"]
    for p in board.provinces:
        mine = [v for v in active if v[1] == p.code]
        assert p.values["units"] == len(mine), p.code
        assert p.values["buildings"] == len({v[3] for v in mine}), p.code
        if mine:
            assert abs(p.values["geocoded_share"] - sum(v[4] == 3 for v in mine) / len(mine)) < 1e-6  # type: ignore
    month = jalali(tehran_day(datetime.now(UTC)))[:7]
    new_province = places[int(made.postcodes[0])][1]
    rows = {(r["level"], r["code"]): r for r in board.monthly if r["month"] == month}
    assert rows[("province", new_province)]["issued"] == 2
    assert rows[("province", places[victim][1])]["retired"] == 1
    assert rows[("country", "")] == {"level": "country", "code": "", "month": month, "issued": 2, "retired": 1}
    assert board.change_seq == 3


def test_no_change_log_means_no_monthly_rows(engine: str, editable: Path | str) -> None:
    assert compute_dashboard(editable).monthly == []


def _state(engine: str, tmp_path: Path, request: pytest.FixtureRequest, name: str) -> Path | str:
    """Where a hub or service store of this engine goes: a file, or a schema of the test server."""
    if engine == "sqlite":
        return tmp_path / f"{name}.sqlite"
    return pg_location(request.getfixturevalue("pg_dsn"), name)


def test_hub_measures_count_verified_units_and_open_requests(engine: str, engine_registry: Path | str,
                                                            tmp_path: Path, request: pytest.FixtureRequest) -> None:
    places = unit_places(engine_registry)
    codes = sorted(p for p, v in places.items() if v[0] == "active")
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    links = [(from_int(codes[0]), "resident", "verified", now), (from_int(codes[0]), "owner", "verified", now),
             (from_int(codes[500]), "tenant", "verified", now), (from_int(codes[3900]), "business", "verified", now),
             (from_int(codes[10]), "resident", "rejected", now), (from_int(codes[11]), "resident", "ended", now),
             (from_int(codes[20]), "resident", "requested", now - timedelta(days=2)),
             (from_int(codes[21]), "resident", "code_sent", now - timedelta(days=4)),
             (from_int(codes[3000]), "resident", "visited", now - timedelta(hours=12)),
             ("1999999999", "resident", "verified", now)]  # a postcode the registry does not hold: no county
    hub = _state(engine, tmp_path, request, "hub")
    make_hub(hub, links)
    with open_source(engine_registry) as src:
        board = compute(src, hub_db=hub, now=now)
    assert board.hub
    verified = Counter(places[c][1] for c in {codes[0], codes[500], codes[3900]})
    opened: dict[str, list[float]] = {}
    for code, days in ((codes[20], 2.0), (codes[21], 4.0), (codes[3000], 0.5)):
        opened.setdefault(places[code][1], []).append(days)
    units = Counter(v[1] for v in places.values() if v[0] == "active")
    for p in board.provinces:
        assert abs(p.values["verified_share"] - verified[p.code] / units[p.code]) < 1e-6, p.code  # type: ignore
        assert p.values["open_requests"] == len(opened.get(p.code, [])), p.code
        ages = opened.get(p.code)
        assert p.values["open_request_age_days"] == (round(sum(ages) / len(ages), 3) if ages else None)
    assert sum(p.values["open_requests"] for p in board.provinces) == 3  # type: ignore[misc]


def test_without_hub_or_service_their_measures_are_none(engine: str, engine_registry: Path | str, tmp_path: Path,
                                                        request: pytest.FixtureRequest) -> None:
    with open_source(engine_registry) as src:
        board = compute(src, hub_db=_state(engine, tmp_path, request, "none"),
                        service_db=_state(engine, tmp_path, request, "none2"))
    assert not board.hub and board.served is None
    assert all(p.values["verified_share"] is None and p.values["open_requests"] is None for p in board.provinces)


def test_served_per_organisation_counts_answered_rows(engine: str, engine_registry: Path | str, tmp_path: Path,
                                                      request: pytest.FixtureRequest) -> None:
    calls = [("bank", "/v1/postcodes/{postcode}", 1, 200), ("bank", "/v1/postcodes/lookup", 40, 200),
             ("bank", "/v1/postcodes/lookup", 7, 429), ("bank", "/v1/match", 1, 200),
             ("telecom", "/gnaf/match", 12, 200), ("telecom", "/gnaf/postcode/address", 5, 200),
             ("telecom", "/v1/geocode", 1, 200), ("insurer", "/v1/postcodes/{postcode}", 1, 404)]
    svc = _state(engine, tmp_path, request, "svc")
    make_service(svc, calls)
    kinds = {"bank": "bank", "telecom": "operator", "insurer": ""}
    store = open_store(svc)
    store.create_key("bank", ["lookup"], None, org_type="bank")
    store.create_key("telecom", ["match"], None, org_type="operator")
    store.close()
    with open_source(engine_registry) as src:
        board = compute(src, service_db=svc)
    expected: dict[str, dict[str, object]] = {}
    for org, endpoint, items, status in calls:
        row: dict[str, Any] = expected.setdefault(org, {"org": org, "org_type": kinds[org], "lookups": 0,
                                                         "matches": 0})
        if status == 200 and "match" in endpoint:
            row["matches"] += items
        elif status == 200 and ("postcode" in endpoint):
            row["lookups"] += items
    assert board.served == sorted(expected.values(), key=lambda r: str(r["org"]))
    assert served_by_type(board.served) == [
        {"org_type": "", "lookups": 0, "matches": 0}, {"org_type": "bank", "lookups": 41, "matches": 1},
        {"org_type": "operator", "lookups": 5, "matches": 12}]


def test_a_postgresql_registry_reads_its_hub_and_service_from_its_own_database(pg_dsn: str,
                                                                               engine_registries: EngineRegistries
                                                                               ) -> None:
    """By default the dashboard of a PostgreSQL registry reads the schemas its replicas share (``<schema>_verify``,
    ``<schema>_service``), not files in some host's state folder."""
    location = RegistryLocation.of(engine_registries.get("postgres", pg_dsn))
    codes = sorted(p for p, v in unit_places(location.target).items() if v[0] == "active")
    now = datetime.now(UTC)
    make_hub(location.verify_target, [(from_int(codes[7]), "resident", "verified", now),
                                      (from_int(codes[8]), "resident", "requested", now)])
    make_service(location.service_target, [("bank", "/v1/match", 3, 200)])
    try:
        board = compute_dashboard(location)
        assert board.hub and sum(p.values["open_requests"] for p in board.provinces) == 1  # type: ignore[misc]
        assert round(sum(p.values["verified_share"] * p.values["units"] for p in board.provinces)) == 1  # type: ignore
        assert board.served == [{"org": "bank", "org_type": "", "lookups": 0, "matches": 3}]
    finally:  # the shared registry's own state: leave it as the other tests expect it (none)
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            for target in (location.verify_target, location.service_target):
                conn.execute(f'DROP SCHEMA "{parse_location(str(target)).schema}" CASCADE')


def test_open_states_are_the_hubs() -> None:
    assert tuple(str(s) for s in OPEN_STATES) == M.OPEN_STATES


def test_every_measure_has_a_definition_and_a_query() -> None:
    for m in M.MEASURES:
        assert m.definition and m.title_fa and "SELECT" in m.sql, m.key
    assert set(M.PLANNABLE_KEYS) <= set(M.SCALAR_KEYS)
