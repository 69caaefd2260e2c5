"""Storage: one interface (``base``), several engines (SQLite embedded; PostgreSQL to come)."""
