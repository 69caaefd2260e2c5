"""The engines against each other: the same seed gives the same registry on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from jinef.model import postcode as pc
from jinef.read.registry.registry import Registry
from jinef.write.export.addresses import write_export
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.store.open import open_reader
from jinef.write.store.postgres.reader import PostgresReader
from tests.conftest import ENGINE_SEED, ENGINE_UNITS, EngineRegistries, build_registry, pg_location
from tests.test_import import load, rows_of, write_rows


@pytest.fixture(scope="module")
def both(engine_registries: EngineRegistries, pg_dsn: str) -> tuple[Path | str, Path | str]:
    """The SQLite and the PostgreSQL registry of the same seed."""
    return engine_registries.get("sqlite"), engine_registries.get("postgres", pg_dsn)


def export_bytes(location: Path | str, fmt: str) -> bytes:
    buf = io.StringIO()
    reader = open_reader(location)
    try:
        write_export(reader.iter_addresses(), buf, fmt)  # type: ignore[arg-type]
    finally:
        reader.close()
    return buf.getvalue().encode("utf-8")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_bytes_identical(both: tuple[Path | str, Path | str], fmt: str) -> None:
    sq, pg = both
    assert export_bytes(sq, fmt) == export_bytes(pg, fmt)


def test_parallel_build_identical(both: tuple[Path | str, Path | str], pg_dsn: str, divisions: Divisions,
                                  boundaries: Boundaries) -> None:
    # Workers hand PostgreSQL their rows (SQLite takes shard files): the same registry either way.
    sq, _ = both
    loc = build_registry(pg_location(pg_dsn, "parallel"), ENGINE_UNITS, ENGINE_SEED, divisions, boundaries, workers=2)
    assert export_bytes(loc, "csv") == export_bytes(sq, "csv")


def test_lookups_identical(both: tuple[Path | str, Path | str]) -> None:
    sq, pg = both
    with Registry.open(sq) as a, Registry.open(pg) as b:
        everything = list(a.addresses(active_only=False))
        assert everything == list(b.addresses(active_only=False))
        assert everything == list(open_reader(pg).iter_addresses(active_only=False))
        codes = [x.postcode for x in everything]
        unknown = "1345678912"
        assert unknown not in codes
        asked = [*codes[::7], unknown, codes[0]]  # repeats and misses keep their places
        assert a.lookup_many(asked) == b.lookup_many(asked)
        for code in codes[:50]:
            assert a.lookup(pc.format_postcode(code)) == b.lookup(code) is not None
        assert b.lookup(unknown) is None


def test_stats_meta_and_columns_identical(both: tuple[Path | str, Path | str]) -> None:
    sq, pg = both
    a, b = open_reader(sq), open_reader(pg)
    with a, b:
        assert a.stats() == b.stats()
        ma, mb = a.meta(), b.meta()
        assert ma.pop("generation") != mb.pop("generation")  # every build is a generation of its own
        assert ma == mb
        for table, names in (("buildings", ["id", "lat", "lon", "locality_id", "plate"]),
                             ("units", ["building_id", "postcode", "status", "floor"]),
                             ("provinces", ["code", "name"])):
            ca, cb = a.columns(table, names), b.columns(table, names)
            for n in names:
                assert ca[n].dtype == cb[n].dtype, (table, n)
                assert np.array_equal(ca[n], cb[n], equal_nan=ca[n].dtype == np.float64), (table, n)


def test_open_reader_follows_a_rebuild(both: tuple[Path | str, Path | str], pg_dsn: str, tmp_path: Path,
                                       divisions: Divisions, boundaries: Boundaries) -> None:
    sq, _ = both
    rows = rows_of(export_bytes(sq, "csv").decode("utf-8"))
    loc = pg_location(pg_dsn, "swap")
    load(write_rows(tmp_path / "old.csv", rows[:100]), loc, divisions, boundaries)
    reader = PostgresReader(loc)
    try:
        old, new = pc.to_int(rows[0]["postcode"]), pc.to_int(rows[200]["postcode"])
        for _ in range(8):  # past psycopg's prepare threshold: prepared plans must survive the swap too
            assert reader.get(old) is not None and reader.get(new) is None
        load(write_rows(tmp_path / "new.csv", rows[150:250]), loc, divisions, boundaries)
        # The swap is atomic: the open session now reads the new registry, whole.
        assert reader.get(old) is None
        got = reader.get(new)
        assert got is not None and got.postcode == rows[200]["postcode"]
        assert sum(s.units for s in reader.stats()) == 100
    finally:
        reader.close()


def test_columns_read_in_chunks_equal_one_read(engine_registry: Path | str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole columns come out the same however many chunks the cursor is read in (chunk edges included)."""
    from jinef.write.store import query

    names = ["id", "postcode", "building_id", "floor", "unit", "status"]
    reader = open_reader(engine_registry)
    whole = reader.columns("units", names)
    monkeypatch.setattr(query, "COLUMN_CHUNK_ROWS", 7)
    chunked = reader.columns("units", names)
    parts = list(reader.column_chunks("units", names, rows=7))
    reader.close()
    assert len(whole["id"]) > 7 * 3 and len(parts) == -(-len(whole["id"]) // 7)
    for n in names:
        assert chunked[n].dtype == whole[n].dtype and chunked[n].tolist() == whole[n].tolist(), n
        assert np.concatenate([p[n] for p in parts]).tolist() == whole[n].tolist(), n
