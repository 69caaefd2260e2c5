"""Queries written once for both storage engines: ``?`` placeholders, as SQLite takes them.

SQLite runs such a query as written; :func:`postgres_sql` spells it for psycopg, which takes ``%s`` and reads
a lone ``%`` as the start of a placeholder. A shared query therefore holds no ``?`` inside a string literal.
Stores that share their queries between the engines run every statement through one helper of their own that
calls it, so the translation happens in one place.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol


@functools.lru_cache(maxsize=512)
def postgres_sql(query: str) -> str:
    """``query`` with ``?`` placeholders spelled for psycopg: ``%s``, and a literal ``%`` doubled (cached)."""
    # Cached: the stores' statements are a fixed set, some on every request's path.
    # psycopg reads "%%" as "%" only when parameters are passed: run translated queries with a tuple, even ().
    return query.replace("%", "%%").replace("?", "%s")


class Cursor(Protocol):
    """What the shared queries read back from either engine's cursor."""

    @property
    def rowcount(self) -> int:
        """Rows changed by the statement."""
        ...

    def fetchone(self) -> Any:
        """The next row, or None."""
        ...

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        ...
