"""A geocoder over the session's small registry, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from jinef.model.address import Address
from jinef.read.geocode.geocoder import Geocoder
from jinef.read.registry.registry import Registry


@pytest.fixture(scope="session")
def registry(small_registry: Path) -> Registry:
    """The small registry, opened once."""
    return Registry.open(small_registry)


@pytest.fixture(scope="session")
def geocoder(registry: Registry) -> Geocoder:
    """A geocoder over the small registry."""
    return registry.geocoder


@pytest.fixture(scope="session")
def sample(registry: Registry) -> list[Address]:
    """Every 97th unit: a spread of cities, villages, houses and flats."""
    return [a for i, a in enumerate(registry.addresses()) if i % 97 == 0]
