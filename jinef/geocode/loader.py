"""Bulk reads of the registry for building the geocoder's index: the only SQL of :mod:`jinef.geocode`.

Each function returns whole columns (numpy arrays, or lists of strings for names) in one pass,
so the index is built without creating an :class:`~jinef.registry.model.Address` per unit.
"""

from __future__ import annotations

import sqlite3
import sys
from typing import Any

import numpy as np

_intern = sys.intern


def _rows(conn: sqlite3.Connection, sql: str) -> list[tuple[Any, ...]]:
    return conn.execute(sql).fetchall()


def load_localities(conn: sqlite3.Connection) -> dict[str, Any]:
    """Localities with the names of their province, county, district and rural district."""
    rows = _rows(
        conn,
        """
        SELECT l.id, l.type, l.name, p.name, c.name, COALESCE(d.name, ''), COALESCE(r.name, ''),
               l.lat, l.lon, l.province_code, l.county_code
        FROM localities l
        JOIN provinces p ON p.code = l.province_code
        JOIN counties c ON c.code = l.county_code
        LEFT JOIN districts d ON d.code = l.district_code
        LEFT JOIN rural_districts r ON r.code = l.rural_district_code
        ORDER BY l.id
        """,
    )
    return {
        "id": np.array([r[0] for r in rows], dtype=np.int64),
        "type": [_intern(r[1]) for r in rows],
        "name": [r[2] for r in rows],
        "province": [_intern(r[3]) for r in rows],
        "county": [_intern(r[4]) for r in rows],
        "district": [_intern(r[5]) for r in rows],
        "rural_district": [_intern(r[6]) for r in rows],
        "lat": np.array([np.nan if r[7] is None else r[7] for r in rows], dtype=np.float64),
        "lon": np.array([np.nan if r[8] is None else r[8] for r in rows], dtype=np.float64),
    }


def load_neighbourhoods(conn: sqlite3.Connection) -> dict[str, Any]:
    """Neighbourhoods: id, locality id, name."""
    rows = _rows(conn, "SELECT id, locality_id, name FROM neighbourhoods ORDER BY id")
    return {
        "id": np.array([r[0] for r in rows], dtype=np.int64),
        "locality_id": np.array([r[1] for r in rows], dtype=np.int64),
        "name": [r[2] for r in rows],
    }


def load_thoroughfares(conn: sqlite3.Connection) -> dict[str, Any]:
    """Thoroughfares: id, locality id, type word, name."""
    rows = _rows(conn, "SELECT id, locality_id, type, name FROM thoroughfares ORDER BY id")
    return {
        "id": np.array([r[0] for r in rows], dtype=np.int64),
        "locality_id": np.array([r[1] for r in rows], dtype=np.int64),
        "type": [_intern(r[2] or "") for r in rows],
        "name": [_intern(r[3] or "") for r in rows],
    }


def load_buildings(conn: sqlite3.Connection) -> dict[str, Any]:
    """Buildings that hold at least one active unit."""
    cur = conn.execute(
        """
        SELECT id, locality_id, COALESCE(neighbourhood_id, -1), COALESCE(prev_thoroughfare_id, -1),
               COALESCE(last_thoroughfare_id, -1), COALESCE(plate, ''), COALESCE(entrance, ''),
               COALESCE(name, ''), lat, lon
        FROM buildings b
        WHERE EXISTS (SELECT 1 FROM units u WHERE u.building_id = b.id AND u.status = 'active')
        ORDER BY id
        """
    )
    ids: list[int] = []
    loc: list[int] = []
    nb: list[int] = []
    prev: list[int] = []
    last: list[int] = []
    plate: list[str] = []
    entrance: list[str] = []
    name: list[str] = []
    lat: list[float] = []
    lon: list[float] = []
    while rows := cur.fetchmany(50_000):
        for r in rows:
            ids.append(r[0])
            loc.append(r[1])
            nb.append(r[2])
            prev.append(r[3])
            last.append(r[4])
            plate.append(_intern(r[5]))
            entrance.append(_intern(r[6]))
            name.append(_intern(r[7]))
            lat.append(np.nan if r[8] is None else r[8])
            lon.append(np.nan if r[9] is None else r[9])
    return {
        "id": np.array(ids, dtype=np.int64),
        "locality_id": np.array(loc, dtype=np.int64),
        "neighbourhood_id": np.array(nb, dtype=np.int64),
        "prev_id": np.array(prev, dtype=np.int64),
        "last_id": np.array(last, dtype=np.int64),
        "plate": plate,
        "entrance": entrance,
        "name": name,
        "lat": np.array(lat, dtype=np.float64),
        "lon": np.array(lon, dtype=np.float64),
    }


def load_units(conn: sqlite3.Connection) -> dict[str, Any]:
    """Active units ordered by building: postcode, building id, floor (None as a sentinel), unit."""
    cur = conn.execute(
        "SELECT postcode, building_id, floor, COALESCE(unit, '') FROM units WHERE status = 'active' "
        "ORDER BY building_id, id"
    )
    postcode: list[int] = []
    building: list[int] = []
    floor: list[int] = []
    unit: list[str] = []
    while rows := cur.fetchmany(100_000):
        for r in rows:
            postcode.append(r[0])
            building.append(r[1])
            floor.append(NO_FLOOR if r[2] is None else r[2])
            unit.append(_intern(r[3]))
    return {
        "postcode": np.array(postcode, dtype=np.int64),
        "building_id": np.array(building, dtype=np.int64),
        "floor": np.array(floor, dtype=np.int16),
        "unit": unit,
    }


NO_FLOOR = -32768  # int16 sentinel for «no floor recorded»
