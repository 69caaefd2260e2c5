"""Changes committed after the read image was compiled, answered on top of it until the next image.

A serving worker follows the change feed (``changes`` records, :mod:`jinef.model.change`) and applies each
record here: the unit's full address after the change, keyed by postcode. Lookups, the JSON writer, reverse
geocoding and the geocoder look here first, so a new postcode answers within the feed's polling interval on
every worker without a rebuild. ``jinef index`` folds the changes into a new image, whose manifest records the
last change it holds; the worker then starts a fresh overlay from there.

The overlay only grows between images (a few thousand changes a day nationally), so plain dicts suffice; a
record replaces the previous one of its postcode, and readers see either the old or the new value.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

from jinef.model.address import Address
from jinef.model.change import address_from_record
from jinef.model.postcode import from_int, to_int
from jinef.read.registry.address_json import AddressJson, _dumps, unit_json
from jinef.read.registry.address_table import AddressSource

__all__ = ["FeedGap", "OverlaidJson", "OverlaidSource", "Overlay"]


class FeedGap(RuntimeError):
    """A change record came out of order: the follower must read the feed again from :attr:`Overlay.seq`."""


class Overlay:
    """Units changed since the image: postcode → current :class:`Address` (retired ones included)."""

    def __init__(self, base_seq: int = 0) -> None:
        self.base_seq = base_seq  # the last change the image itself holds
        self.seq = base_seq  # the last change applied
        self.units: dict[int, Address] = {}
        self.buildings: dict[int, dict[int, Address]] = {}  # building id → its changed units
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.units)

    def apply(self, changes: Iterable[dict[str, Any]]) -> int:
        """Apply feed records in order (ones already applied are skipped); return the last number applied."""
        with self._lock:
            for c in changes:
                seq = int(c["seq"])
                if seq <= self.seq:
                    continue
                if seq != self.seq + 1:
                    raise FeedGap(f"change {seq} follows {self.seq}: read the feed again from {self.seq}")
                a = address_from_record(c["address"])
                code = to_int(a.postcode)
                old = self.units.get(code)
                if old is not None and old.building_id != a.building_id and old.building_id is not None:
                    self.buildings.get(old.building_id, {}).pop(code, None)
                self.units[code] = a
                if a.building_id is not None:
                    self.buildings.setdefault(a.building_id, {})[code] = a
                self.seq = seq
        return self.seq

    def get(self, postcode: int) -> Address | None:
        """The changed unit, or None when the image's answer stands."""
        return self.units.get(postcode)

    def changed(self) -> list[Address]:
        """Every changed unit (a snapshot: safe while changes keep coming)."""
        return list(self.units.values())


class OverlaidSource:
    """An :class:`AddressSource` answering changed units from the overlay, the rest from the image."""

    def __init__(self, base: AddressSource, overlay: Overlay) -> None:
        self.base = base
        self.overlay = overlay

    def get(self, postcode: int) -> Address | None:
        """The unit (changed or not), or None."""
        a = self.overlay.units.get(postcode)
        return a if a is not None else self.base.get(postcode)

    def get_many(self, postcodes: Sequence[int]) -> list[Address | None]:
        """Units in input order."""
        found = self.base.get_many(postcodes)
        units = self.overlay.units
        return [units.get(p, a) for p, a in zip(postcodes, found, strict=True)]

    def status(self, postcode: int) -> str | None:
        """'active', 'retired' or None."""
        a = self.overlay.units.get(postcode)
        if a is not None:
            return a.status
        status = getattr(self.base, "status", None)
        return status(postcode) if status is not None else None


class OverlaidJson:
    """Unit JSON: changed units written through :func:`unit_json`, the rest straight from the image."""

    def __init__(self, base: AddressJson, overlay: Overlay) -> None:
        self.base = base
        self.overlay = overlay

    def encode_many(self, postcodes: Sequence[int]) -> list[bytes | None]:
        """Each postcode's unit JSON, None where it has none."""
        out = self.base.encode_many(postcodes)
        units = self.overlay.units
        for i, p in enumerate(postcodes):
            a = units.get(p)
            if a is not None:
                out[i] = _dumps(unit_json(a))
        return out


def postcode_text(code: int) -> str:
    """The 10-digit text of a postcode integer."""
    return from_int(code)
