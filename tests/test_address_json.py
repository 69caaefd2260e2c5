"""Unit JSON written from the address table is byte for byte what encoding the reference dict gives."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import psycopg

from jinef.read.registry.address_json import JsonFromAddresses, unit_json
from jinef.read.registry.registry import Registry
from jinef.write.compile import index_registry
from jinef.write.store.base import RegistryReader
from jinef.write.store.open import open_reader
from jinef.write.store.postgres.location import parse_location
from tests.conftest import EngineRegistries
from tests.test_address_table import all_postcodes, load_floors
from tests.test_import import NewLocation


def _drop_point(location: Path | str, postcode: int) -> None:
    sql = "UPDATE buildings SET lat = NULL, lon = NULL WHERE id = (SELECT building_id FROM units WHERE postcode = {})"
    if isinstance(location, Path):
        with sqlite3.connect(location) as conn:
            conn.execute(sql.format("?"), (postcode,))
        return
    loc = parse_location(location)
    with psycopg.connect(loc.dsn) as conn:
        conn.execute(f"SET search_path TO {loc.schema}")
        conn.execute(sql.format("%s"), (postcode,))


def _reference(store: RegistryReader, codes: list[int]) -> list[bytes | None]:
    return [None if a is None else orjson.dumps(unit_json(a)) for a in store.get_many(codes)]


def test_every_unit_as_the_reference(engine_registry: Path | str) -> None:
    with Registry.open(engine_registry) as reg:
        store = open_reader(engine_registry)
        writer = reg.json
        codes = all_postcodes(store)
        unknown = [c for c in (1111111119, 9999999998, min(codes) - 1) if c not in set(codes)]
        asked = [*codes, *unknown, codes[0]]  # unknown ones among them, and a repeat
        expected = _reference(store, asked)
        assert expected[len(codes):len(codes) + len(unknown)] == [None] * len(unknown)
        assert writer.encode_many(asked) == expected
        assert writer.encode_many(asked[::-1]) == expected[::-1]  # encoded-once values are reused correctly
        assert JsonFromAddresses(store).encode_many(asked) == expected
        # The standard address inside is the model's.
        first = orjson.loads(expected[0] or b"null")
        assert first["standard_address"] == store.get_many(codes[:1])[0].standard_address  # type: ignore[union-attr]
        store.close()


def test_floors_and_missing_geocode(engine_registries: EngineRegistries, new_location: NewLocation,
                                    tmp_path: Path) -> None:
    """Basement, ground floor, no floor, and a unit without a point: each written as the reference writes it."""
    loc, rows = load_floors(engine_registries, new_location, tmp_path)
    _drop_point(loc, int(rows[3]["postcode"]))  # an import needs a point; a unit may still lack one in the store
    index_registry(loc)  # the store was changed behind the image's back: compile it again
    with Registry.open(loc) as reg:
        codes = [int(r["postcode"]) for r in rows]
        store = open_reader(loc)
        expected = _reference(store, codes)
        store.close()
        assert reg.json.encode_many(codes) == expected
        head = [orjson.loads(b or b"null") for b in expected[:4]]
        assert [h["address"]["floor"] for h in head[:3]] == [-1, 0, None]
        assert "طبقه منفی ۱" in head[0]["standard_address"] and "طبقه همکف" in head[1]["standard_address"]
        assert head[3]["location"] is None
