"""Helpers for tests of the living registry (the ``editable`` fixture is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinef.model.address import Address
from jinef.read.registry.registry import Registry


def city_building(location: Path | str) -> Address:
    """A unit of a city building with a neighbourhood and two streets (a new building goes beside it)."""
    with Registry.open(location) as reg:
        for a in reg.addresses():
            if a.locality_type == "شهر" and a.neighbourhood and a.prev_thoroughfare and a.lat is not None:
                return a
    raise AssertionError("the generated registry has no city building with two streets")


def parts_beside(a: Address, **changes: Any) -> dict[str, Any]:
    """Address parts of a new building next to ``a`` (10 m north), as the export writes them."""
    assert a.lat is not None and a.lon is not None
    parts: dict[str, Any] = {"province": a.province, "county": a.county, "locality": a.locality,
                             "locality_type": a.locality_type, "neighbourhood": a.neighbourhood,
                             "prev_thoroughfare": a.prev_thoroughfare, "last_thoroughfare": a.last_thoroughfare,
                             "plate": "9" + a.plate, "lat": a.lat + 0.0001, "lon": a.lon}
    parts.update(changes)
    return parts
