"""Shared fixtures: a small generated registry on the real divisions, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from jinef.ingest.generate import generate
from jinef.refdata.boundaries import Boundaries, load_boundaries
from jinef.refdata.divisions import Divisions, load_divisions
from jinef.store.sqlite.writer import SqliteWriter

SMALL_UNITS = 20000
SMALL_SEED = 7


@pytest.fixture(scope="session")
def divisions() -> Divisions:
    """The real divisions, loaded once."""
    return load_divisions()


@pytest.fixture(scope="session")
def boundaries(divisions: Divisions) -> Boundaries:
    """The real polygons, loaded once."""
    return load_boundaries(divisions)


def build_registry(path: Path, units: int, seed: int, divisions: Divisions, boundaries: Boundaries,
                   workers: int = 1) -> Path:
    """Generate a registry file (helper for tests that need their own)."""
    w = SqliteWriter(path)
    generate(w, n_units=units, seed=seed, divisions=divisions, boundaries=boundaries, workers=workers)
    w.commit()
    return path


@pytest.fixture(scope="session")
def small_registry(tmp_path_factory: pytest.TempPathFactory, divisions: Divisions, boundaries: Boundaries) -> Path:
    """A generated registry of a few thousand units (read-only for tests: copy it to modify)."""
    return build_registry(tmp_path_factory.mktemp("reg") / "registry.sqlite", SMALL_UNITS, SMALL_SEED,
                          divisions, boundaries)
