"""``jinef.Registry``: the typed read API over a stored registry (lookups, export rows, statistics)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from jinef.geo.locate import Location, locate
from jinef.registry import postcode as pc
from jinef.registry.model import Address
from jinef.store.base import ProvinceStats, RegistryReader
from jinef.store.open import open_reader


class Registry:
    """A national address registry opened for reading."""

    def __init__(self, reader: RegistryReader) -> None:
        self.reader = reader

    @classmethod
    def open(cls, path: str | os.PathLike[str] | None = None) -> Registry:
        """Open the registry at ``path``: a SQLite file or a ``postgresql://`` URL (default: ``JINEF_DB``, else
        ``./var/registry.sqlite``)."""
        return cls(open_reader(path))

    def lookup(self, postcode: str) -> Address | None:
        """The unit for a postcode in any written form; None when unknown.

        Raises :class:`jinef.registry.postcode.PostcodeError` for an input that breaks the rules.
        """
        return self.reader.get(pc.to_int(postcode))

    def status(self, postcode: str) -> str | None:
        """'active', 'retired', or None for an unknown postcode (cheaper than a lookup)."""
        return self.reader.status(pc.to_int(postcode))

    def lookup_many(self, postcodes: Sequence[str]) -> list[Address | None]:
        """Units for many canonical-or-not postcodes, in order (invalid inputs raise)."""
        return self.reader.get_many([pc.to_int(p) for p in postcodes])

    def locate(self, postcode: str) -> Location | None:
        """Point, geocode quality/source and Plus Code of a postcode; None when unknown (invalid raises)."""
        return locate(self, postcode)

    def addresses(self, active_only: bool = True) -> Iterator[Address]:
        """Every unit ordered by postcode (streamed)."""
        return self.reader.iter_addresses(active_only=active_only)

    def stats(self) -> list[ProvinceStats]:
        """Per-province statistics computed from the registry."""
        return self.reader.stats()

    def meta(self) -> dict[str, str]:
        """Build metadata."""
        return self.reader.meta()

    def reopen(self) -> Registry:
        """The same registry through a connection of its own (close it when done)."""
        return Registry(self.reader.reopen())

    def close(self) -> None:
        """Close the underlying store."""
        self.reader.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
