"""Fixtures for the location services: the admin index and a reverse geocoder over the small registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from jinef.image.admin_index import AdminIndex
from jinef.read.geo.reverse import ReverseGeocoder
from jinef.read.registry.registry import Registry
from jinef.write.compile.admin_index import build_admin_index
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions


@pytest.fixture(scope="session")
def admin(divisions: Divisions, boundaries: Boundaries) -> AdminIndex:
    """The real province and county polygons, indexed once."""
    return build_admin_index(divisions, boundaries)


@pytest.fixture(scope="session")
def registry(small_registry: Path) -> Iterator[Registry]:
    """The small generated registry, opened once."""
    with Registry.open(small_registry) as reg:
        yield reg


@pytest.fixture(scope="session")
def geocoder(registry: Registry) -> ReverseGeocoder:
    """A reverse geocoder over the small registry's read image."""
    return registry.reverse
