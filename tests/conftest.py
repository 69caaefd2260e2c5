"""Shared fixtures: small generated registries on the real divisions, built once per session, per engine."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from jinef.write.compile import image_step
from jinef.write.ingest.generate import generate
from jinef.write.refdata.boundaries import Boundaries, load_boundaries
from jinef.write.refdata.divisions import Divisions, load_divisions
from jinef.write.store.open import open_writer
from jinef.write.store.postgres.location import parse_location

SMALL_UNITS = 20000
SMALL_SEED = 7
# The registry every engine is tested on: small enough to build per engine in a few seconds.
ENGINE_UNITS = 4000
ENGINE_SEED = 7
ENGINES = ("sqlite", "postgres")
DEFAULT_PG_DSN = "postgresql:///jinef_test?host=/var/run/postgresql"
# Schemas of this test session (the pid keeps concurrent sessions on one server apart).
SCHEMA_PREFIX = f"t{os.getpid()}_"


@pytest.fixture(scope="session", autouse=True)
def _state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """What belongs to PostgreSQL registries (their read images) goes to the session's temporary folder."""
    old = os.environ.get("JINEF_STATE_DIR")
    os.environ["JINEF_STATE_DIR"] = str(tmp_path_factory.mktemp("state"))
    yield
    if old is None:
        os.environ.pop("JINEF_STATE_DIR", None)
    else:
        os.environ["JINEF_STATE_DIR"] = old


@pytest.fixture(scope="session")
def divisions() -> Divisions:
    """The real divisions, loaded once."""
    return load_divisions()


@pytest.fixture(scope="session")
def boundaries(divisions: Divisions) -> Boundaries:
    """The real polygons, loaded once."""
    return load_boundaries(divisions)


def build_registry(location: Path | str, units: int, seed: int, divisions: Divisions, boundaries: Boundaries,
                   workers: int = 1) -> Path | str:
    """Generate a registry into a SQLite file or a PostgreSQL location, with its read image, as `jinef build` does
    (helper for tests that need their own)."""
    w = open_writer(location)
    try:
        generate(w, n_units=units, seed=seed, divisions=divisions, boundaries=boundaries, workers=workers)
    except BaseException:
        w.abort()
        raise
    step = image_step(location)
    w.commit(prepare=step)
    step.publish()
    return location


@pytest.fixture(scope="session")
def small_registry(tmp_path_factory: pytest.TempPathFactory, divisions: Divisions, boundaries: Boundaries) -> Path:
    """A generated registry of a few thousand units (read-only for tests: copy it to modify)."""
    path = tmp_path_factory.mktemp("reg") / "registry.sqlite"
    build_registry(path, SMALL_UNITS, SMALL_SEED, divisions, boundaries)
    return path


@pytest.fixture(scope="session")
def pg_dsn() -> Iterator[str]:
    """A reachable PostgreSQL server (from `make test`'s scripts/pg-up.sh); fails, never skips, without one."""
    dsn = os.environ.get("JINEF_TEST_PG_DSN") or DEFAULT_PG_DSN
    if dsn == "unavailable":
        pytest.fail("the PostgreSQL engine's tests need a server and scripts/pg-up.sh could not start one "
                    "(its messages are above the test run); fix that or set JINEF_TEST_PG_DSN")
    try:
        psycopg.connect(dsn, connect_timeout=5).close()
    except psycopg.Error as exc:
        pytest.fail(f"the PostgreSQL engine's tests need a server: cannot connect to {dsn} ({exc}); "
                    "run `make test` (scripts/pg-up.sh starts one) or set JINEF_TEST_PG_DSN")
    yield dsn
    with psycopg.connect(dsn, autocommit=True) as conn:
        names = [r[0] for r in conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                                            (SCHEMA_PREFIX,))]
        for name in names:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="session", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """Each storage engine in turn; every test using it runs once per engine."""
    return str(request.param)


_counter = itertools.count()


def pg_location(dsn: str, name: str) -> str:
    """A fresh registry location (its own schema) on the test server."""
    return f"{dsn}{'&' if '?' in dsn else '?'}schema={SCHEMA_PREFIX}{next(_counter)}_{name}"


@pytest.fixture
def new_location(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[str], Path | str]:
    """Factory of empty registry locations for the current engine: a file path or a PostgreSQL schema."""
    if engine == "postgres":
        dsn: str = request.getfixturevalue("pg_dsn")
        return lambda name: pg_location(dsn, name)
    return lambda name: tmp_path / f"{name}.sqlite"


def leftovers(location: Path | str) -> list[str]:
    """Unfinished builds beside a registry: SQLite build files, or PostgreSQL build schemas."""
    if isinstance(location, Path):
        return [p.name for p in location.parent.glob(f".{location.name}.building-*")]
    loc = parse_location(location)
    with psycopg.connect(loc.dsn) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                            (loc.schema + "_build_",)).fetchall()
    return [r[0] for r in rows]


class EngineRegistries:
    """The ENGINE_UNITS registry, built lazily once per engine and shared (read-only) by the session."""

    def __init__(self, tmp: Path, divisions: Divisions, boundaries: Boundaries) -> None:
        self.tmp, self.divisions, self.boundaries = tmp, divisions, boundaries
        self.built: dict[str, Path | str] = {}

    def get(self, engine: str, pg_dsn: str | None = None) -> Path | str:
        """The shared registry of this engine (``pg_dsn`` needed for PostgreSQL)."""
        if engine not in self.built:
            loc: Path | str = self.tmp / "engine.sqlite" if engine == "sqlite" else pg_location(str(pg_dsn), "shared")
            self.built[engine] = build_registry(loc, ENGINE_UNITS, ENGINE_SEED, self.divisions, self.boundaries)
        return self.built[engine]


@pytest.fixture(scope="session")
def engine_registries(tmp_path_factory: pytest.TempPathFactory, divisions: Divisions,
                      boundaries: Boundaries) -> EngineRegistries:
    """Lazily built shared registries, one per engine."""
    return EngineRegistries(tmp_path_factory.mktemp("engines"), divisions, boundaries)


@pytest.fixture(scope="session")
def engine_registry(engine: str, engine_registries: EngineRegistries, request: pytest.FixtureRequest) -> Path | str:
    """The shared ENGINE_UNITS registry of the current engine (read-only for tests)."""
    dsn = request.getfixturevalue("pg_dsn") if engine == "postgres" else None
    return engine_registries.get(engine, dsn)


LIVING_UNITS = 1500
LIVING_SEED = 11


@pytest.fixture
def editable(new_location: Callable[[str], Path | str], divisions: Divisions, boundaries: Boundaries) -> Path | str:
    """A new registry of the current engine with its image, for one test to change."""
    return build_registry(new_location("living"), LIVING_UNITS, LIVING_SEED, divisions, boundaries)
