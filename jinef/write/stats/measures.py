"""The provinces' dashboard measures: for each, one documented query and a one-line definition, in one place.

Every figure the dashboard, ``jinef stats`` and ``/v1/stats`` show is computed by the query named here, never
typed in. Registry queries run unchanged on both engines (standard SQL, ``?`` placeholders; CASE sums rather
than a dialect's boolean sums) and return one row per county, so a province's figure is the sum of its
counties' numerators over the sum of their denominators. The hub's and the service's queries run on their own
SQLite files; the hub stores postcodes, which :data:`PLACE_OF_POSTCODES_SQL` places in their county.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jinef.common.messages import MessageError, message

Source = Literal["registry", "changes", "hub", "service"]
Kind = Literal["count", "share", "days", "monthly", "per_org"]


@dataclass(frozen=True, slots=True)
class Measure:
    """One measure: its key, Persian title, one-line definition, what it is read from and the query text."""

    key: str
    title_fa: str
    definition: str
    source: Source
    kind: Kind
    sql: str
    plannable: bool = False  # a province's office may set a target on it (a scalar per province, higher is better)

    def as_dict(self) -> dict[str, object]:
        """JSON form (the definitions page and ``/v1/stats/definitions``)."""
        return {"key": self.key, "title_fa": self.title_fa, "definition": self.definition, "source": self.source,
                "kind": self.kind, "plannable": self.plannable, "sql": self.sql.strip()}


_UNIT_PLACE = """FROM units u
JOIN buildings b ON b.id = u.building_id
JOIN localities l ON l.id = b.locality_id"""

# Every county with its province: counties without a unit still get a row (zero) on the dashboard.
PLACES_SQL = """
SELECT c.code, c.name, p.code, p.name FROM counties c JOIN provinces p ON p.code = c.province_code
ORDER BY p.code, c.code
"""

# Where a postcode is (county, province) and whether it is active: places the hub's postcodes.
# Run in chunks of POSTCODE_CHUNK postcodes (the same text with that many placeholders).
PLACE_OF_POSTCODES_SQL = """
SELECT u.postcode, u.status, l.province_code, l.county_code
""" + _UNIT_PLACE + """
WHERE u.postcode IN ({placeholders})
"""
POSTCODE_CHUNK = 500

# The verification hub's open states (jinef.read.verify.store.OPEN_STATES; a test holds them equal).
OPEN_STATES = ("requested", "code_sent", "visited")
# Service endpoints that answer a postcode with its address or location, and those that answer a match.
LOOKUP_ENDPOINTS = ("/v1/postcodes/{postcode}", "/v1/postcodes/lookup", "/gnaf/postcode/address",
                    "/gnaf/postcode/address-string", "/gnaf/postcode/location")
MATCH_ENDPOINTS = ("/v1/match", "/gnaf/match")


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


UNITS = Measure(
    "units", "واحدهای فعال", "Active units (status 'active'), by the county of their building's locality.",
    "registry", "count", plannable=True, sql=f"""
SELECT l.province_code, l.county_code, COUNT(*)
{_UNIT_PLACE}
WHERE u.status = 'active'
GROUP BY l.province_code, l.county_code
""")

BUILDINGS = Measure(
    "buildings", "ساختمان‌ها", "Buildings that hold at least one active unit.",
    "registry", "count", plannable=True, sql=f"""
SELECT l.province_code, l.county_code, COUNT(DISTINCT b.id)
{_UNIT_PLACE}
WHERE u.status = 'active'
GROUP BY l.province_code, l.county_code
""")

GEOCODED = Measure(
    "geocoded_share", "سهم مکان‌یابی در سطح ساختمان",
    "Share of active units whose building is geocoded at building level (geocode_quality = 3).",
    "registry", "share", plannable=True, sql=f"""
SELECT l.province_code, l.county_code,
       SUM(CASE WHEN b.geocode_quality = 3 THEN 1 ELSE 0 END), COUNT(*)
{_UNIT_PLACE}
WHERE u.status = 'active'
GROUP BY l.province_code, l.county_code
""")

VERIFIED = Measure(
    "verified_share", "سهم واحدهای دارای ساکن احرازشده",
    "Share of active units with at least one verified link in the verification hub (any role), "
    "over active units.", "hub", "share", plannable=True, sql="""
SELECT DISTINCT postcode FROM verify_link WHERE state = 'verified'
""")

OPEN_REQUESTS = Measure(
    "open_requests", "درخواست‌های احراز باز",
    f"Verification requests still open (state {', '.join(OPEN_STATES)}), by the county of their postcode.",
    "hub", "count", sql=f"""
SELECT postcode, requested_at FROM verify_link WHERE state IN ({_quoted(OPEN_STATES)})
""")

OPEN_REQUEST_AGE = Measure(
    "open_request_age_days", "میانگین عمر درخواست‌های باز (روز)",
    "Mean age in days of the open verification requests (from requested_at to the time of computing); "
    "same query as open_requests.", "hub", "days", sql=OPEN_REQUESTS.sql)

ISSUED = Measure(
    "issued", "کدپستی‌های صادرشده در ماه",
    "Postcodes issued by the living registry: the change log's 'create' records (new buildings, added units, "
    "a split's new parts), by Solar Hijri month of the change (Tehran time), by the county of the building.",
    "changes", "monthly", sql="""
SELECT l.province_code, l.county_code, substr(c.at, 1, 13), COUNT(*)
FROM changes c
JOIN buildings b ON b.id = c.building_id
JOIN localities l ON l.id = b.locality_id
WHERE c.kind = 'create'
GROUP BY l.province_code, l.county_code, substr(c.at, 1, 13)
""")

RETIRED = Measure(
    "retired", "کدپستی‌های باطل‌شده در ماه",
    "Postcodes retired: the change log's 'retire' records (a retirement, or a merge's retired units; each "
    "such unit's valid_to is that day), by Solar Hijri month of the change (Tehran time).",
    "changes", "monthly", sql=ISSUED.sql.replace("c.kind = 'create'", "c.kind = 'retire'"))

SERVED = Measure(
    "served", "استعلام‌ها و تطبیق‌های پاسخ‌داده‌شده",
    "Per organisation, with its type (bank, operator, …; `jinef keys create --org-type`): lookup rows and match "
    "rows answered (items of calls with status 200 in the service's call audit), national; every organisation "
    "that called at all has a row, and the types are summed from them.", "service", "per_org", sql=f"""
SELECT a.org, COALESCE(o.kind, ''),
       SUM(CASE WHEN a.status = 200 AND a.endpoint IN ({_quoted(LOOKUP_ENDPOINTS)}) THEN a.items ELSE 0 END),
       SUM(CASE WHEN a.status = 200 AND a.endpoint IN ({_quoted(MATCH_ENDPOINTS)}) THEN a.items ELSE 0 END)
FROM audit a LEFT JOIN orgs o ON o.name = a.org
GROUP BY a.org, o.kind ORDER BY a.org
""")

MEASURES: tuple[Measure, ...] = (UNITS, BUILDINGS, GEOCODED, VERIFIED, OPEN_REQUESTS, OPEN_REQUEST_AGE, ISSUED,
                                 RETIRED, SERVED)
BY_KEY = {m.key: m for m in MEASURES}
# The figures each province and county has (a value each); the monthly and per-organisation ones are tables.
SCALAR_KEYS = tuple(m.key for m in MEASURES if m.kind in ("count", "share", "days"))
PLANNABLE_KEYS = tuple(m.key for m in MEASURES if m.plannable)


def measure(key: str) -> Measure:
    """The measure called ``key``; a ValueError naming the known ones otherwise."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise MessageError(message("stats.measure_unknown", measure=key, allowed=list(BY_KEY))) from None
