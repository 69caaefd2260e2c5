"""The provinces' dashboard: measures computed from the registry (and the hub and service state beside it),
operational plans with Solar Hijri deadlines, and dated snapshots of the figures (see ``measures.py``)."""

from __future__ import annotations

import os

from jinef.common.config import RegistryLocation
from jinef.write.stats.compute import Area, Dashboard, compute
from jinef.write.stats.source import StatsSource, open_source

__all__ = ["Area", "Dashboard", "StatsSource", "compute", "compute_dashboard", "open_source", "province_code",
           "provinces"]


def compute_dashboard(location: RegistryLocation | str | os.PathLike[str] | None = None, *,
                      hub_db: str | os.PathLike[str] | None = None,
                      service_db: str | os.PathLike[str] | None = None) -> Dashboard:
    """Every measure of the registry at ``location``, with the hub and service state beside it by default (files
    beside a SQLite registry, schemas of a PostgreSQL one's database)."""
    loc = RegistryLocation.of(location)
    with open_source(loc) as src:
        return compute(src, hub_db or loc.verify_target, service_db or loc.service_target)


def provinces(location: RegistryLocation | str | os.PathLike[str] | None = None) -> dict[str, str]:
    """The registry's provinces: code → Persian name."""
    from jinef.write.stats.measures import PLACES_SQL

    with open_source(RegistryLocation.of(location)) as src:
        return {str(pc): str(pn) for _, _, pc, pn in src.rows(PLACES_SQL)}


def province_code(text: str, known: dict[str, str]) -> str:
    """A province given by code (``"23"``) or Persian name («تهران») as its code; a ValueError naming the choices."""
    t = text.strip()
    if t in known:
        return t
    for code, name in known.items():
        if name == t:
            return code
    raise ValueError(f"unknown province «{text}»: give a code or name, e.g. "
                     + ", ".join(f"{c} {n}" for c, n in list(known.items())[:3]))
