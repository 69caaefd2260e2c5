"""Checks before a registry is replaced, so that a mistaken import or build cannot destroy it.

A replacing import that would load nothing, or leave the registry much smaller than it is, and a generated
build over a registry that was imported from real records, are refused unless forced. Both are asked before
anything is published; the refused registry (file, schema and read image) is left exactly as it was.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from jinef.common.config import DEFAULT_MAX_SHRINK, RegistryNotFoundError
from jinef.common.messages import MessageError, message
from jinef.write.store.open import describe_location, open_reader

IMPORTED = "imported"  # meta.source of a registry loaded from records (a generated one says "generated")


class ReplaceRefused(MessageError):
    """A replace of the registry refused; nothing was written (``text`` says why, in either language)."""


@dataclass(frozen=True)
class Current:
    """What the registry about to be replaced holds: None for every field when there is none."""

    units: int | None  # active units
    source: str | None  # meta.source: "generated", "imported", or None when unrecorded


def current_registry(location: str | os.PathLike[str]) -> Current:
    """Active units and source of the registry at ``location`` (``Current(None, None)`` when there is none)."""
    try:
        reader = open_reader(location)
    except RegistryNotFoundError:
        return Current(None, None)
    try:
        return Current(reader.active_units(), reader.meta().get("source"))
    finally:
        reader.close()


@dataclass(frozen=True)
class ShrinkGuard:
    """Refuses a replacing import that loads nothing, or that shrinks the registry by more than ``max_shrink``."""

    where: str  # the registry, for messages
    current: int | None  # active units now; None when there is no registry yet
    max_shrink: float = DEFAULT_MAX_SHRINK
    force: bool = False

    @classmethod
    def of(cls, location: str | os.PathLike[str], max_shrink: float = DEFAULT_MAX_SHRINK,
           force: bool = False) -> ShrinkGuard:
        """The guard for replacing the registry at ``location`` (asks it how many units it has)."""
        units = None if force else current_registry(location).units
        return cls(describe_location(location), units, max_shrink, force)

    def check(self, new_units: int) -> None:
        """Raise :class:`ReplaceRefused` unless a registry of ``new_units`` units may replace the current one."""
        if self.force:
            return
        if self.current is None:
            if new_units == 0:  # an empty registry is only useful to append to later: --force makes one
                raise ReplaceRefused(message("replace.nothing_to_import", where=self.where))
            return
        if self.current and (new_units == 0 or new_units < self.current * (1 - self.max_shrink)):
            lost = 1 - new_units / self.current
            raise ReplaceRefused(message("replace.shrink", where=self.where, current=self.current, left=new_units,
                                         lost=lost, most=self.max_shrink))


def check_build_replaces(location: str | os.PathLike[str], force: bool = False) -> None:
    """Refuse (:class:`ReplaceRefused`) to replace a registry imported from records by a generated one."""
    if force:
        return
    current = current_registry(location)
    if current.source == IMPORTED:
        raise ReplaceRefused(message("replace.imported", where=describe_location(location), units=current.units))
