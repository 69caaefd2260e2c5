"""The address table (read image) answers exactly as the store it was compiled from, on every engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from jinef.model import postcode as pc
from jinef.read.registry.registry import Registry
from jinef.write.store.base import RegistryReader
from jinef.write.store.open import open_reader
from tests.conftest import EngineRegistries
from tests.test_import import NewLocation, export, load, rows_of, write_rows


def all_postcodes(store: RegistryReader) -> list[int]:
    """Every postcode the store holds."""
    return [int(p) for p in store.columns("units", ["postcode"])["postcode"]]


def test_every_unit_as_the_store(engine_registry: Path | str) -> None:
    with Registry.open(engine_registry) as reg:
        store = open_reader(engine_registry)
        table = reg.table
        codes = all_postcodes(store)
        assert len(table) == len(codes) > 1000
        assert table.get_many(codes) == store.get_many(codes)
        for code in codes[:: max(1, len(codes) // 200)]:
            assert table.get(code) == store.get(code)
            assert table.status(code) == store.status(code)
            assert table.lookup(pc.from_int(code)) == reg.lookup(pc.from_int(code))
        assert list(reg.addresses(active_only=False)) == list(store.iter_addresses(active_only=False))
        store.close()


def test_unknown_postcodes_are_none(engine_registry: Path | str) -> None:
    with Registry.open(engine_registry) as reg:
        table = reg.table
        store = open_reader(engine_registry)
        codes = sorted(all_postcodes(store))
        store.close()
        unknown = [1111111119, codes[0] - 1, codes[-1] + 1, 9999999998]
        unknown = [c for c in unknown if c not in set(codes)]
        assert table.get_many(unknown) == [None] * len(unknown)
        assert [table.status(c) for c in unknown] == [None] * len(unknown)
        with pytest.raises(pc.PostcodeError):
            table.lookup("12345")


def test_single_row_search_finds_every_postcode_and_no_other(engine_registry: Path | str) -> None:
    """The single lookup searches a fence of every 64th postcode, then one stretch: every stretch's ends, and the
    gaps between registered postcodes, answer as the vectorised search does."""
    with Registry.open(engine_registry) as reg:
        table = reg.table
        codes = table.postcodes.tolist()
        assert len(codes) > 64 * 10
        probes = sorted({c + d for c in codes for d in (-1, 0, 1)} | {0, 10**10})
        assert [table.row(c) for c in probes] == table.rows(probes).tolist()
        assert [table.row(c) for c in codes] == list(range(len(codes)))


def load_floors(engine_registries: EngineRegistries, new_location: NewLocation,
                tmp_path: Path) -> tuple[Path | str, list[dict[str, str]]]:
    """A registry of 300 units whose first three are on floor -1 (basement), 0 (همکف) and no floor; its rows."""
    rows = rows_of(export(engine_registries.get("sqlite")))[:300]
    rows[0]["floor"], rows[1]["floor"], rows[2]["floor"] = "-1", "0", ""
    path = write_rows(tmp_path / "floors.csv", rows)
    loc = new_location("floors")
    load(path, loc, engine_registries.divisions, engine_registries.boundaries)
    return loc, rows


def test_basement_ground_and_no_floor_kept_apart(engine_registries: EngineRegistries, new_location: NewLocation,
                                                 tmp_path: Path) -> None:
    """Floor -1 (basement), 0 (همکف) and no floor are three different answers, as in the store."""
    loc, rows = load_floors(engine_registries, new_location, tmp_path)
    with Registry.open(loc) as reg:
        table = reg.table
        got = [table.lookup(r["postcode"]) for r in rows[:3]]
        assert [a.floor for a in got if a is not None] == [-1, 0, None]
        store = open_reader(loc)
        codes = all_postcodes(store)
        assert table.get_many(codes) == store.get_many(codes)
        store.close()
