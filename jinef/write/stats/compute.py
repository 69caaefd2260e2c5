"""Compute the dashboard: every measure of :mod:`jinef.write.stats.measures` per county and per province.

Each registry measure is its one query (one row per county); a province's figure adds up its counties'
numerators and denominators. The verification hub and the service state are read-only here, from their SQLite
files beside the registry or their schemas of its PostgreSQL database (:mod:`jinef.write.stats.state_source`);
when one is missing (a registry nobody has served yet) its measures are None.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jinef.write.stats import measures as M
from jinef.write.stats.jalali import jalali_month_of_utc_hour
from jinef.write.stats.source import StatsSource
from jinef.write.stats.state_source import StateSource, as_datetime, open_state

Value = float | int | None


@dataclass(slots=True)
class Area:
    """A province or a county and its figures (``values``: measure key → value)."""

    level: str
    code: str
    name: str
    province_code: str
    province: str
    values: dict[str, Value] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        d: dict[str, Any] = {"code": self.code, "name": self.name}
        if self.level == "county":
            d.update(province_code=self.province_code, province=self.province)
        return {**d, **self.values}


@dataclass(slots=True)
class Dashboard:
    """Every figure at one moment, and what it was computed on."""

    computed_at: str
    generation: str
    change_seq: int
    provinces: list[Area]
    counties: list[Area]
    monthly: list[dict[str, Any]]  # {level, code, month, issued, retired}
    served: list[dict[str, Any]] | None  # {org, org_type, lookups, matches}; None without a service database
    hub: bool  # whether the verification hub's database was there

    def province(self, code: str) -> Area | None:
        """One province's figures."""
        return next((p for p in self.provinces if p.code == code), None)


class _Sums:
    """Numerators and denominators per county, added up per province at the end."""

    def __init__(self) -> None:
        self.num: dict[str, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
        self.den: dict[str, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))

    def add(self, key: str, place: tuple[str, str], num: float, den: float = 1.0) -> None:
        self.num[key][place] += num
        self.den[key][place] += den


def place_postcodes(src: StatsSource, postcodes: Iterable[int]) -> dict[int, tuple[str, str, str]]:
    """Postcode → (status, province code, county code) for those the registry holds."""
    codes = sorted(set(postcodes))
    out: dict[int, tuple[str, str, str]] = {}
    for i in range(0, len(codes), M.POSTCODE_CHUNK):
        chunk = codes[i:i + M.POSTCODE_CHUNK]
        sql = M.PLACE_OF_POSTCODES_SQL.format(placeholders=", ".join("?" * len(chunk)))
        for postcode, status, pc, cc in src.rows(sql, chunk):
            out[int(postcode)] = (str(status), str(pc), str(cc))
    return out


def _hub_figures(src: StatsSource, hub: StateSource, sums: _Sums, now: datetime) -> None:
    verified = [r[0] for r in hub.rows(M.VERIFIED.sql)]
    open_rows = hub.rows(M.OPEN_REQUESTS.sql)
    wanted = [int(p) for p in verified if str(p).isdigit()] + [int(p) for p, _ in open_rows if str(p).isdigit()]
    places = place_postcodes(src, wanted)
    for p in verified:
        where = places.get(int(p)) if str(p).isdigit() else None
        if where and where[0] == "active":
            sums.add("verified_num", (where[1], where[2]), 1)
    for p, requested_at in open_rows:
        where = places.get(int(p)) if str(p).isdigit() else None
        if where is None:
            continue  # a request for a postcode this registry does not hold has no county to count in
        age = (now - as_datetime(requested_at)).total_seconds() / 86400
        sums.add("open_requests", (where[1], where[2]), 1)
        sums.add("open_age", (where[1], where[2]), age)


def _monthly(src: StatsSource, counties: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    if not src.has_table("changes"):
        return []
    acc: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: {"issued": 0, "retired": 0})
    for key, m in (("issued", M.ISSUED), ("retired", M.RETIRED)):
        for pc, cc, hour, n in src.rows(m.sql):
            month = jalali_month_of_utc_hour(str(hour))
            for level, code in (("province", str(pc)), ("county", str(cc)), ("country", "")):
                acc[(level, code, month)][key] += int(n)
    return [{"level": level, "code": code, "month": month, **v}
            for (level, code, month), v in sorted(acc.items())]


def _served(service: StateSource) -> list[dict[str, Any]]:
    if "kind" not in service.columns("orgs"):  # a service database of an earlier version: organisations untyped
        service.add_view("orgs", "SELECT *, NULL AS kind FROM main.orgs")
    return [{"org": org, "org_type": kind or "", "lookups": int(lk or 0), "matches": int(mt or 0)}
            for org, kind, lk, mt in service.rows(M.SERVED.sql)]


def served_by_type(served: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The per-organisation rows summed per organisation type ('' for organisations without one)."""
    totals: dict[str, dict[str, Any]] = {}
    for row in served:
        t = totals.setdefault(row["org_type"], {"org_type": row["org_type"], "lookups": 0, "matches": 0})
        t["lookups"] += row["lookups"]
        t["matches"] += row["matches"]
    return sorted(totals.values(), key=lambda r: r["org_type"])


def compute(src: StatsSource, hub_db: str | os.PathLike[str] | None = None,
            service_db: str | os.PathLike[str] | None = None, now: datetime | None = None) -> Dashboard:
    """Every measure per county and province, from the registry and (when given and present) the hub and service
    (each a SQLite file or a ``postgresql://…?schema=…`` URL)."""
    now = now or datetime.now(UTC)
    generation, seq = src.state()
    counties = {str(c): (str(cn), str(pc)) for c, cn, pc, _ in src.rows(M.PLACES_SQL)}
    province_names = {str(pc): str(pn) for _, _, pc, pn in src.rows(M.PLACES_SQL)}
    sums = _Sums()
    for key, m in (("units", M.UNITS), ("buildings", M.BUILDINGS)):
        for pc, cc, n in src.rows(m.sql):
            sums.add(key, (str(pc), str(cc)), int(n))
    for pc, cc, geocoded, units in src.rows(M.GEOCODED.sql):
        sums.add("geocoded", (str(pc), str(cc)), int(geocoded or 0), int(units))
    hub = open_state(hub_db, "verify_link")
    if hub is not None:
        with hub:
            _hub_figures(src, hub, sums, now)
    service = open_state(service_db, "audit")
    served = None
    if service is not None:
        with service:
            served = _served(service)

    def figures(places: set[tuple[str, str]]) -> dict[str, Value]:
        def total(key: str, part: dict[str, dict[tuple[str, str], float]] | None = None) -> float:
            table = (part or sums.num)[key]
            return sum(v for k, v in table.items() if k in places)

        units = total("units")
        open_n = total("open_requests")
        return {
            "units": int(units), "buildings": int(total("buildings")),
            "geocoded_share": round(total("geocoded") / total("geocoded", sums.den), 6) if units else None,
            "verified_share": (round(total("verified_num") / units, 6) if units else None) if hub is not None else None,
            "open_requests": int(open_n) if hub is not None else None,
            "open_request_age_days": round(total("open_age") / open_n, 3) if open_n else None,
        }

    county_areas = []
    by_province: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for code, (name, pc) in counties.items():
        by_province[pc].add((pc, code))
        county_areas.append(Area("county", code, name, pc, province_names[pc], figures({(pc, code)})))
    province_areas = [Area("province", pc, pn, pc, pn, figures(by_province[pc]))
                      for pc, pn in sorted(province_names.items())]
    return Dashboard(now.isoformat(timespec="seconds"), generation, seq, province_areas, county_areas,
                     _monthly(src, counties), served, hub is not None)
