"""The leading digits of each province's postcode routes (and of large cities' counties), from one table.

``postcode_prefixes.toml`` is keyed by the Statistical Centre codes of :mod:`jinef.write.refdata.divisions`;
``docs/postcode_prefixes.md`` cites where each prefix comes from. A *stem* is the first one to three digits
of a route: a province owns every route that starts with one of its stems, and no route belongs to two
provinces. A county's stems (Tehran's ``1``, Tabriz's ``51``, Urmia's ``571`` …) lie inside its province's.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinef.model.postcode import FORBIDDEN_ROUTE_DIGITS

PREFIX_FILE = Path(__file__).with_name("postcode_prefixes.toml")


@dataclass(frozen=True, slots=True)
class Prefixes:
    """Stems by province code and by county code (only the counties the sources single out)."""

    provinces: dict[str, tuple[str, ...]]
    counties: dict[str, tuple[str, ...]]
    names: dict[str, str]  # code → name as the table writes it (checked against the divisions by a test)

    def province_of_route(self, route: int) -> str | None:
        """The province whose stems the route starts with (None when no province owns it)."""
        text = f"{route:05d}"
        for code, stems in self.provinces.items():
            if any(text.startswith(s) for s in stems):
                return code
        return None


def _stems(where: str, raw: object) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(s, str) for s in raw):
        raise ValueError(f"{where}: stems must be a non-empty list of strings")
    for s in raw:
        if not (1 <= len(s) <= 3 and s.isdigit()) or FORBIDDEN_ROUTE_DIGITS.intersection(s):
            raise ValueError(f"{where}: stem {s!r} must be 1-3 digits without 0 or 2")
    return tuple(raw)


def parse_prefixes(data: dict) -> Prefixes:
    """Check and read the table: stems well formed, provinces disjoint, county stems inside their province's."""
    provinces: dict[str, tuple[str, ...]] = {}
    counties: dict[str, tuple[str, ...]] = {}
    names: dict[str, str] = {}
    for code, row in data.get("provinces", {}).items():
        provinces[code] = _stems(f"province {code}", row.get("stems"))
        names[code] = row.get("name", "")
    owner: dict[str, str] = {}
    for code, stems in provinces.items():
        for s in stems:
            for other_stem, other in owner.items():
                if other != code and (s.startswith(other_stem) or other_stem.startswith(s)):
                    raise ValueError(f"stem {s} of province {code} overlaps stem {other_stem} of province {other}")
            owner[s] = code
    for code, row in data.get("counties", {}).items():
        prov = code[:2]
        if prov not in provinces:
            raise ValueError(f"county {code}: its province {prov} has no stems")
        stems = _stems(f"county {code}", row.get("stems"))
        for s in stems:
            if not any(s.startswith(p) for p in provinces[prov]):
                raise ValueError(f"county {code}: stem {s} is not inside province {prov}'s {provinces[prov]}")
        counties[code] = stems
        names[code] = row.get("name", "")
    return Prefixes(provinces, counties, names)


@cache
def load_prefixes(path: Path = PREFIX_FILE) -> Prefixes:
    """The table shipped with Jinef (read once)."""
    with path.open("rb") as fh:
        return parse_prefixes(tomllib.load(fh))
