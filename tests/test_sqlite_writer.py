"""The SQLite writer's bulk paths: many-row INSERT statements, and shards merged from worker processes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from jinef.write.store.sqlite.writer import SqliteWriter

UNIT_COLUMNS = ("id", "postcode", "building_id", "floor", "unit", "usage")


def units(first: int, n: int) -> list[tuple[object, ...]]:
    return [(i, 1345678900 + i, i // 3, i % 4 or None, str(i), "residential") for i in range(first, first + n)]


def stored(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT id, postcode, building_id, floor, unit, usage, status, valid_from, valid_to "
                            "FROM units ORDER BY rowid").fetchall()


def test_rows_in_batches_and_a_remainder_keep_order_and_defaults(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    rows = units(1, 64 * 3 + 7)
    with SqliteWriter(db) as w:
        w.add("units", rows, UNIT_COLUMNS)
        w.add("units", iter(units(1000, 70)), UNIT_COLUMNS)  # any iterable, not only lists
    got = stored(db)
    assert [g[:6] for g in got] == rows + units(1000, 70)
    assert {g[6:] for g in got} == {("active", "2025-03-21", None)}


def test_a_short_row_is_refused_not_shifted(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    rows = units(1, 100)
    rows[10] = rows[10][:5]
    w = SqliteWriter(db)
    with pytest.raises(sqlite3.ProgrammingError):
        w.add("units", rows, UNIT_COLUMNS)
    w.abort()
    assert not db.exists()


def test_shards_are_appended_in_order_then_removed(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    w = SqliteWriter(db)
    w.add("units", units(1, 5), UNIT_COLUMNS)
    shards = w.shards()
    assert shards is not None
    for index, first in ((0, 100), (1, 300)):
        shard = shards.open(index)
        shard.add("units", units(first, 150), UNIT_COLUMNS)
        shard.close()
    w.merge_shard(0)
    w.merge_shard(1)
    assert not list(shards.directory.iterdir())
    w.add("units", units(1000, 2), UNIT_COLUMNS)  # the writer goes on after merging
    w.commit()
    assert [g[:6] for g in stored(db)] == units(1, 5) + units(100, 150) + units(300, 150) + units(1000, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.sqlite"]


def test_abort_drops_the_shards(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    w = SqliteWriter(db)
    shards = w.shards()
    assert shards is not None
    shard = shards.open(0)
    shard.add("units", units(1, 3), UNIT_COLUMNS)
    shard.close()
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_append_mode_takes_no_shards(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    with SqliteWriter(db) as w:
        w.add("units", units(1, 3), UNIT_COLUMNS)
    with SqliteWriter(db, mode="append") as w:
        assert w.shards() is None
