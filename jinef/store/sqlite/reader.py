"""Read access to a SQLite registry file (lookup side; never writes)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from jinef.registry.model import Address
from jinef.registry.postcode import from_int
from jinef.store.base import ProvinceStats
from jinef.store.tables import TABLES

_SELECT = """
SELECT u.id, u.postcode, p.name, c.name, COALESCE(d.name, ''), COALESCE(r.name, ''), l.type, l.name,
       COALESCE(n.name, ''), pt.type, pt.name, lt.type, lt.name, b.plate, b.entrance, b.name,
       u.floor, u.unit, u.usage, b.lat, b.lon, b.geocode_source, b.geocode_quality,
       u.status, u.valid_from, u.valid_to, b.id
FROM units u
JOIN buildings b ON b.id = u.building_id
JOIN localities l ON l.id = b.locality_id
JOIN provinces p ON p.code = l.province_code
JOIN counties c ON c.code = l.county_code
LEFT JOIN districts d ON d.code = l.district_code
LEFT JOIN rural_districts r ON r.code = l.rural_district_code
LEFT JOIN neighbourhoods n ON n.id = b.neighbourhood_id
LEFT JOIN thoroughfares pt ON pt.id = b.prev_thoroughfare_id
LEFT JOIN thoroughfares lt ON lt.id = b.last_thoroughfare_id
"""


class RegistryNotFoundError(FileNotFoundError):
    """No registry file at the given path."""


def _thoroughfare(kind: str | None, name: str | None) -> str:
    if not kind:
        return ""
    return f"{kind} {name}" if name else kind


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def row_to_address(r: tuple[Any, ...]) -> Address:
    """Turn one row of the address query into an :class:`Address`."""
    return Address(
        postcode=from_int(r[1]),
        province=r[2],
        county=r[3],
        district=r[4],
        rural_district=r[5],
        locality_type=r[6],
        locality=r[7],
        neighbourhood=r[8],
        prev_thoroughfare=_thoroughfare(r[9], r[10]),
        last_thoroughfare=_thoroughfare(r[11], r[12]),
        plate=r[13] or "",
        entrance=r[14] or "",
        building=r[15] or "",
        floor=r[16],
        unit=r[17] or "",
        usage=r[18],
        lat=None if r[19] is None else round(r[19], 7),  # 1 cm, as exported
        lon=None if r[20] is None else round(r[20], 7),
        geocode_source=r[21],
        geocode_quality=r[22],
        status=r[23],
        valid_from=_date(r[24]),
        valid_to=_date(r[25]),
        id=r[0],
        building_id=r[26],
    )


class SqliteReader:
    """A :class:`jinef.store.base.RegistryReader` over one SQLite file, opened read-only."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise RegistryNotFoundError(
                f"no registry at {self.path}: build one with `jinef build` or `jinef import`"
            )
        # Read-only URI: a reader can never modify the registry, and keeps seeing the file it
        # opened even if a rebuild renames a new one over it.
        self.conn = sqlite3.connect(
            f"file:{self.path.resolve()}?mode=ro", uri=True, check_same_thread=False
        )
        self.conn.execute("PRAGMA query_only=1")
        try:
            self.conn.execute("SELECT 1 FROM units LIMIT 1")
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise RegistryNotFoundError(f"{self.path} is not a Jinef registry: {exc}") from exc

    def get(self, postcode: int) -> Address | None:
        """The unit with this postcode (active or retired), or None."""
        row = self.conn.execute(_SELECT + " WHERE u.postcode = ?", (postcode,)).fetchone()
        return row_to_address(row) if row else None

    def get_many(self, postcodes: Sequence[int]) -> list[Address | None]:
        """Units for many postcodes, in input order."""
        found: dict[int, Address] = {}
        uniq = list(dict.fromkeys(postcodes))
        for i in range(0, len(uniq), 500):
            chunk = uniq[i : i + 500]
            q = _SELECT + f" WHERE u.postcode IN ({','.join('?' * len(chunk))})"
            for row in self.conn.execute(q, chunk):
                found[row[1]] = row_to_address(row)
        return [found.get(p) for p in postcodes]

    def iter_addresses(self, active_only: bool = True, batch: int = 10_000) -> Iterator[Address]:
        """Every unit, ordered by postcode."""
        where = " WHERE u.status = 'active'" if active_only else ""
        cur = self.conn.execute(_SELECT + where + " ORDER BY u.postcode")
        while rows := cur.fetchmany(batch):
            for row in rows:
                yield row_to_address(row)

    def columns(self, table: str, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Whole columns of a table as numpy arrays, ordered by the table's first column."""
        bad = [n for n in names if n not in TABLES.get(table, ())]
        if bad:
            raise ValueError(f"unknown columns {bad} for table {table!r}")
        cols = ", ".join(names)
        rows = self.conn.execute(f"SELECT {cols} FROM {table} ORDER BY {TABLES[table][0]}").fetchall()
        out: dict[str, np.ndarray] = {}
        for i, n in enumerate(names):
            values = [r[i] for r in rows]
            if n in ("lat", "lon"):
                out[n] = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
            elif n in ("id", "postcode") or n.endswith("_id") or n in ("floor", "geocode_quality"):
                out[n] = np.array([-1 if v is None else v for v in values], dtype=np.int64)
            else:
                out[n] = np.array(values, dtype=object)
        return out

    def stats(self) -> list[ProvinceStats]:
        """Per-province counts, computed with aggregate queries."""
        q = """
        WITH b AS (
            SELECT l.province_code AS pc, COUNT(*) AS buildings FROM buildings bb
            JOIN localities l ON l.id = bb.locality_id GROUP BY l.province_code),
        u AS (
            SELECT l.province_code AS pc, COUNT(*) AS units,
                   SUM(uu.status = 'active') AS active,
                   SUM(uu.status = 'active' AND bb.lat IS NOT NULL AND bb.lon IS NOT NULL) AS geocoded
            FROM units uu JOIN buildings bb ON bb.id = uu.building_id
            JOIN localities l ON l.id = bb.locality_id GROUP BY l.province_code),
        t AS (
            SELECT l.province_code AS pc, COUNT(*) AS n FROM thoroughfares tt
            JOIN localities l ON l.id = tt.locality_id GROUP BY l.province_code),
        lo AS (SELECT province_code AS pc, COUNT(*) AS n FROM localities GROUP BY province_code)
        SELECT p.code, p.name, COALESCE(u.units, 0), COALESCE(u.active, 0), COALESCE(b.buildings, 0),
               COALESCE(t.n, 0), COALESCE(lo.n, 0), COALESCE(u.geocoded, 0)
        FROM provinces p LEFT JOIN u ON u.pc = p.code LEFT JOIN b ON b.pc = p.code
        LEFT JOIN t ON t.pc = p.code LEFT JOIN lo ON lo.pc = p.code ORDER BY p.code
        """
        return [ProvinceStats(*row) for row in self.conn.execute(q)]

    def meta(self) -> dict[str, str]:
        """Build metadata."""
        return dict(self.conn.execute("SELECT key, value FROM meta").fetchall())

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()
