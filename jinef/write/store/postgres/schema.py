"""PostgreSQL DDL for the registry tables of :mod:`jinef.write.store.tables` (same defaults as SQLite)."""

from __future__ import annotations

from psycopg import sql

from jinef.write.store.tables import TABLES

SCHEMA_VERSION = "1"

# Text compares byte-wise ("C"), as SQLite's BINARY does: same ORDER BY and equality on every server.
_TEXT = 'TEXT COLLATE "C"'
_TYPES: dict[str, str] = {
    "id": "BIGINT",
    "postcode": "BIGINT NOT NULL",  # ten digits do not fit an INTEGER
    "lat": "DOUBLE PRECISION",
    "lon": "DOUBLE PRECISION",
    "floor": "INTEGER",
    "geocode_quality": "INTEGER",
    "locality_id": "BIGINT",
    "neighbourhood_id": "BIGINT",
    "prev_thoroughfare_id": "BIGINT",
    "last_thoroughfare_id": "BIGINT",
    "building_id": "BIGINT NOT NULL",
    # Defaults are what a generated registry has; imports and edits write their own values.
    "status": f"{_TEXT} NOT NULL DEFAULT 'active'",
    "valid_from": "DATE DEFAULT '2025-03-21'",
    "valid_to": "DATE",
    "geocode_source": f"{_TEXT} DEFAULT 'generated'",
}
_TABLE_TYPES: dict[tuple[str, str], str] = {("buildings", "geocode_quality"): "INTEGER DEFAULT 3"}

# name, table, columns, unique — created after the bulk load (one sort instead of a B-tree per row).
INDEXES: tuple[tuple[str, str, str, bool], ...] = (
    ("units_postcode", "units", "postcode", True),
    ("units_building", "units", "building_id", False),
    ("buildings_locality", "buildings", "locality_id", False),
    ("thoroughfares_locality", "thoroughfares", "locality_id", False),
    ("neighbourhoods_locality", "neighbourhoods", "locality_id", False),
    ("localities_county", "localities", "county_code", False),
)


def create_table(schema: str, table: str) -> sql.Composed:
    """CREATE TABLE for one registry table; primary keys wait for :func:`index_statements` except meta's."""
    cols: list[sql.Composable] = [
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_TABLE_TYPES.get((table, c)) or _TYPES.get(c, _TEXT)))
        for c in TABLES[table]]
    if table == "meta":  # upserted row by row, so it needs its key from the start
        cols.append(sql.SQL("PRIMARY KEY (key)"))
    return sql.SQL("CREATE TABLE {}.{} ({})").format(sql.Identifier(schema), sql.Identifier(table),
                                                     sql.SQL(", ").join(cols))


def index_statements(schema: str) -> list[sql.Composed]:
    """Primary keys and secondary indexes, to run once the rows are in."""
    s = sql.Identifier(schema)
    out = [sql.SQL("ALTER TABLE {}.{} ADD PRIMARY KEY ({})").format(s, sql.Identifier(t), sql.Identifier(cols[0]))
           for t, cols in TABLES.items() if t != "meta"]
    for name, table, col, unique in INDEXES:
        out.append(sql.SQL("CREATE {}INDEX {} ON {}.{} ({})").format(
            sql.SQL("UNIQUE " if unique else ""), sql.Identifier(name), s, sql.Identifier(table), sql.Identifier(col)))
    return out
