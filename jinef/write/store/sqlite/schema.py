"""SQLite DDL for the registry tables of :mod:`jinef.write.store.tables`."""

from __future__ import annotations

from jinef.write.store.tables import TABLES

SCHEMA_VERSION = "1"

_TYPES: dict[str, str] = {
    "id": "INTEGER PRIMARY KEY",
    "postcode": "INTEGER NOT NULL",
    "lat": "REAL",
    "lon": "REAL",
    "floor": "INTEGER",
    "geocode_quality": "INTEGER",
    "locality_id": "INTEGER",
    "neighbourhood_id": "INTEGER",
    "prev_thoroughfare_id": "INTEGER",
    "last_thoroughfare_id": "INTEGER",
    "building_id": "INTEGER NOT NULL",
    # Defaults are what a generated registry has; imports and edits write their own values.
    "status": "TEXT NOT NULL DEFAULT 'active'",
    "valid_from": "TEXT DEFAULT '2025-03-21'",
    "geocode_source": "TEXT DEFAULT 'generated'",
}
_TABLE_TYPES: dict[tuple[str, str], str] = {("buildings", "geocode_quality"): "INTEGER DEFAULT 3"}
_PRIMARY_TEXT = {"provinces", "counties", "districts", "rural_districts", "meta"}

# Indexes are created after a bulk load: sorting once is much faster than growing a B-tree per row.
INDEXES: tuple[str, ...] = (
    "CREATE UNIQUE INDEX IF NOT EXISTS units_postcode ON units(postcode)",
    "CREATE INDEX IF NOT EXISTS units_building ON units(building_id)",
    "CREATE INDEX IF NOT EXISTS buildings_locality ON buildings(locality_id)",
    "CREATE INDEX IF NOT EXISTS thoroughfares_locality ON thoroughfares(locality_id)",
    "CREATE INDEX IF NOT EXISTS neighbourhoods_locality ON neighbourhoods(locality_id)",
    "CREATE INDEX IF NOT EXISTS localities_county ON localities(county_code)",
)


def column_type(table: str, column: str) -> str:
    """The declared type of a column: INTEGER, REAL or TEXT."""
    if column == TABLES[table][0] and table in _PRIMARY_TEXT:
        return "TEXT"
    declared = _TABLE_TYPES.get((table, column)) or _TYPES.get(column, "TEXT")
    return declared.split()[0]


def create_table_sql(table: str) -> str:
    """CREATE TABLE for one registry table."""
    cols = []
    for i, c in enumerate(TABLES[table]):
        if i == 0 and table in _PRIMARY_TEXT:
            cols.append(f"{c} TEXT PRIMARY KEY")
        else:
            cols.append(f"{c} {_TABLE_TYPES.get((table, c)) or _TYPES.get(c, 'TEXT')}")
    return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(cols)})"


def insert_sql(table: str, columns: tuple[str, ...] | None = None) -> str:
    """Parameterised INSERT for one registry table (all columns, or a subset relying on defaults)."""
    cols = columns or TABLES[table]
    if table == "meta":  # metadata keys are overwritten by later loads
        return f"INSERT OR REPLACE INTO meta ({', '.join(cols)}) VALUES (?, ?)"
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
