"""Postcodes a replaced registry had retired, carried into the registry that replaces it.

A postcode once issued is never issued again (domain.md §2). Within a registry the retired units stay in
``units``; a replacing build or import starts a new registry whose file may not list them (an export holds
active units only), so each replace copies them into ``retired_postcodes`` of the new one, where allocation
(:mod:`jinef.write.edit.allocate`) finds them. A postcode the new registry lists again is the new registry's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def carry_retired(run: Callable[[str], Any], new: str, old: str, old_has_table: bool, postgres: bool) -> None:
    """Copy the old registry's retired postcodes into the new one (``new``/``old``: schema or database names)."""
    integer, upsert, ignore = ("BIGINT", " ON CONFLICT DO NOTHING", "") if postgres else ("INTEGER", "", " OR IGNORE")
    run(f"CREATE TABLE IF NOT EXISTS {new}.retired_postcodes (postcode {integer} PRIMARY KEY, retired TEXT)")
    valid_to = "CAST(valid_to AS TEXT)"
    run(f"INSERT{ignore} INTO {new}.retired_postcodes SELECT postcode, {valid_to} FROM {old}.units "
        f"WHERE status <> 'active'{upsert}")
    if old_has_table:
        run(f"INSERT{ignore} INTO {new}.retired_postcodes SELECT postcode, retired FROM {old}.retired_postcodes"
            f"{upsert}")
    run(f"DELETE FROM {new}.retired_postcodes WHERE postcode IN (SELECT postcode FROM {new}.units)")
