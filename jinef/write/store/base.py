"""The storage interface every engine implements: a reader (lookup side) and a writer (load side).

Callers never see SQL: they get :class:`~jinef.model.address.Address` objects, numpy columns for
in-memory indexes, and statistics. Writers take rows as tuples in :data:`jinef.write.store.tables.TABLES`
order and publish them atomically on :meth:`RegistryWriter.commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pyarrow as pa

from jinef.common.config import RegistryNotFoundError
from jinef.model.address import Address

__all__ = ["ProvinceStats", "RegistryNotFoundError", "RegistryReader", "RegistryWriter", "Shard", "ShardSet",
           "ShardedWriter"]


@dataclass(frozen=True, slots=True)
class ProvinceStats:
    """Counts for one province, computed from the registry (never typed in)."""

    province_code: str
    province: str
    units: int
    active_units: int
    buildings: int
    thoroughfares: int
    localities: int
    geocoded_units: int

    @property
    def geocoded_share(self) -> float:
        """Share of active units with a geocode."""
        return self.geocoded_units / self.active_units if self.active_units else 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "province_code": self.province_code,
            "province": self.province,
            "units": self.units,
            "active_units": self.active_units,
            "buildings": self.buildings,
            "thoroughfares": self.thoroughfares,
            "localities": self.localities,
            "geocoded_share": round(self.geocoded_share, 6),
        }


class RegistryReader(Protocol):
    """Read access to one stored registry."""

    def get(self, postcode: int) -> Address | None:
        """The unit with this postcode (active or retired), or None."""
        ...

    def status(self, postcode: int) -> str | None:
        """The unit's status ('active' or 'retired'), or None when unknown."""
        ...

    def get_many(self, postcodes: Sequence[int]) -> list[Address | None]:
        """Units for many postcodes, in input order."""
        ...

    def iter_addresses(self, active_only: bool = True, batch: int = 10_000) -> Iterator[Address]:
        """Every unit, ordered by postcode."""
        ...

    def columns(self, table: str, names: Sequence[str]) -> dict[str, np.ndarray]:
        """Whole columns of a table as numpy arrays (for compact in-memory indexes)."""
        ...

    def export_chunks(self, active_only: bool = True, batch: int = 100_000, start: int | None = None,
                      stop: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
        """Rows of :data:`jinef.write.store.query.EXPORT_SELECT` ordered by postcode, a list per chunk
        (postcodes from ``start`` to before ``stop`` when given)."""
        ...

    def postcode_bounds(self, step: int) -> list[int]:
        """Postcodes that cut the units, in postcode order, into runs of ``step`` (for parallel exports)."""
        ...

    def column_chunks(self, table: str, names: Sequence[str], rows: int = 1_000_000) -> Iterator[dict[str, np.ndarray]]:
        """The same columns in chunks of ``rows`` rows (same order): text columns of a national table at once
        would be a Python string per row."""
        ...

    def arrow_batches(self, table: str, names: Sequence[str], rows: int = 1_000_000) -> Iterator[pa.RecordBatch]:
        """The same columns as Arrow record batches of about ``rows`` rows, read in C (committed rows only)."""
        ...

    def stats(self) -> list[ProvinceStats]:
        """Per-province counts."""
        ...

    def active_units(self) -> int:
        """How many units are active (what an export of the registry holds)."""
        ...

    def meta(self) -> dict[str, str]:
        """Build metadata (seed, unit count, source, build time)."""
        ...

    def last_change_seq(self) -> int:
        """The number of the last logged edit (0 when the registry has never been edited)."""
        ...

    def reopen(self) -> RegistryReader:
        """Another reader on the same registry, with its own connection (for a thread that reads a while)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class RegistryWriter(Protocol):
    """Bulk load into a registry; nothing is visible to readers before :meth:`commit`."""

    def add(self, table: str, rows: Iterable[tuple[Any, ...]], columns: Sequence[str] | None = None) -> None:
        """Append rows (tuples in the table's column order, or in ``columns`` with defaults for the rest)."""
        ...

    def add_columns(self, table: str, columns: Mapping[str, Sequence[Any]]) -> None:
        """Append rows given column by column (equal-length sequences; defaults for the table's other columns)."""
        ...

    def max_id(self, table: str) -> int:
        """Largest id already in an id-keyed table (0 when empty), for appends."""
        ...

    def existing_postcodes(self, postcodes: Sequence[int]) -> set[int]:
        """Which of these postcodes the registry already holds (any status)."""
        ...

    def lookup_ids(self, table: str, key_columns: Sequence[str]) -> dict[tuple[Any, ...], int]:
        """Map of key column values to id, for reusing existing rows on append."""
        ...

    def commit(self, prepare: Callable[[RegistryReader], None] | None = None) -> None:
        """Publish everything added, atomically, under a new generation (``meta.generation``).

        ``prepare`` is called with a reader of the finished registry (the read image is compiled there): in
        ``replace`` mode before the new registry is published, so if it raises nothing is; in ``append`` mode right
        after the rows are committed (the service keeps answering from the old image until the new one is
        published).
        """
        ...

    def abort(self) -> None:
        """Drop everything added; the registry stays as it was."""
        ...


class Shard(Protocol):
    """Rows of one slice of a build, written by a worker process into private storage."""

    def add(self, table: str, rows: Iterable[tuple[Any, ...]], columns: Sequence[str] | None = None) -> None:
        """Append rows, as :meth:`RegistryWriter.add` does."""
        ...

    def add_columns(self, table: str, columns: Mapping[str, Sequence[Any]]) -> None:
        """Append rows given column by column, as :meth:`RegistryWriter.add_columns` does."""
        ...

    def close(self) -> None:
        """Finish the shard so that the writer can merge it."""
        ...


class ShardSet(Protocol):
    """Where the worker processes of a parallel build write their shards (picklable, holds no connection)."""

    def open(self, index: int) -> Shard:
        """A new, empty shard number ``index`` (called in a worker process)."""
        ...


@runtime_checkable
class ShardedWriter(Protocol):
    """A writer that can take rows from parallel workers as shards, merged in order by the writer itself.

    Engines with a fast bulk copy between files offer this so that the rows never pass through the
    builder's main process one by one.
    """

    def shards(self) -> ShardSet | None:
        """Where workers may write shards, or None when this writer cannot merge them (e.g. in append mode)."""
        ...

    def merge_shard(self, index: int) -> None:
        """Append every row of the closed shard ``index`` and delete the shard."""
        ...
