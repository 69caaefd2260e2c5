"""Helpers for the dashboard's tests: raw table reads that share no SQL with the measures, a hub and a service
database filled with known rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg

from jinef.api.servicedb import AuditRecord, open_store
from jinef.read.verify import open_verify_store
from jinef.write.store.postgres.location import parse_location


def table(location: Path | str, name: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    """Every row of one table, no join, no filter: the tests join and count in Python."""
    sql = f"SELECT {', '.join(columns)} FROM {name}"
    if isinstance(location, Path):
        with sqlite3.connect(location) as conn:
            return conn.execute(sql).fetchall()
    loc = parse_location(location)
    with psycopg.connect(loc.dsn) as conn:
        return conn.execute(f'SELECT {", ".join(columns)} FROM "{loc.schema}".{name}').fetchall()


def unit_places(location: Path | str) -> dict[int, tuple[str, str, str, int, int]]:
    """Postcode → (status, province code, county code, building id, geocode quality), joined in Python."""
    localities = {i: (p, c) for i, p, c in table(location, "localities", ("id", "province_code", "county_code"))}
    buildings = {i: (loc, q) for i, loc, q in table(location, "buildings", ("id", "locality_id", "geocode_quality"))}
    out = {}
    for postcode, status, building in table(location, "units", ("postcode", "status", "building_id")):
        loc, quality = buildings[building]
        out[int(postcode)] = (status, *localities[loc], building, quality)
    return out


def make_hub(target: Path | str, links: Sequence[tuple[str, str, str, datetime]]) -> None:
    """A hub (the hub's own tables, either engine) holding ``links``: (postcode, role, state, requested_at)."""
    open_verify_store(target).close()
    rows = [(f"l{i}", b"n%d" % i, b"m%d" % i, postcode, role, state, at, at)
            for i, (postcode, role, state, at) in enumerate(links)]
    insert = ("INSERT INTO verify_link (id, nc_hash, mobile_hash, postcode, role, state, requested_at, updated_at) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
    if isinstance(target, Path):
        with sqlite3.connect(target) as conn:
            conn.executemany(insert, [(*r[:6], r[6].isoformat(), r[7].isoformat()) for r in rows])
        return
    loc = parse_location(target)
    with psycopg.connect(loc.dsn) as conn, conn.cursor() as cur:
        cur.executemany(insert.replace("INTO verify_link", f'INTO "{loc.schema}".verify_link')
                        .replace("?", "%s").encode(), rows)


def make_service(target: Path | str, calls: Sequence[tuple[str, str, int, int]]) -> None:
    """A service store (either engine) whose audit holds ``calls``: (org, endpoint, items, status)."""
    store = open_store(target)
    store.write_audit([AuditRecord(1.0 + i, f"r{i}", 1, org, None, "POST", endpoint, items, status, "ok", 1.0)
                       for i, (org, endpoint, items, status) in enumerate(calls)])
    store.close()
