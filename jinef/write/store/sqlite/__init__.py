"""The embedded SQLite engine (stdlib ``sqlite3``)."""
