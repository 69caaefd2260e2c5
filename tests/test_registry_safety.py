"""Imports and builds that cannot destroy the registry: refusals, the kept previous generation, rollback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from jinef.image.folder import current_generation
from jinef.model.address import EXPORT_COLUMNS
from jinef.read.registry.registry import Registry
from jinef.write.compile.rollback import rollback
from jinef.write.ingest.importer import ImportRefused, import_file
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.store.open import open_reader, open_writer
from jinef.write.store.replace_guard import ReplaceRefused, ShrinkGuard, check_build_replaces
from tests.conftest import EngineRegistries, build_registry, leftovers
from tests.test_import import NewLocation, export, load, rows_of, write_rows
from tests.test_import_files import cli, state

Location = Path | str


@pytest.fixture(scope="module")
def rows(engine_registries: EngineRegistries) -> list[dict[str, str]]:
    """Rows of the shared registry's export."""
    return rows_of(export(engine_registries.get("sqlite")))[:400]


def header_only(path: Path) -> Path:
    path.write_text(",".join(EXPORT_COLUMNS) + "\n", encoding="utf-8")
    return path


def meta(location: Location) -> dict[str, str]:
    reader = open_reader(location)
    try:
        return reader.meta()
    finally:
        reader.close()


def units(location: Location) -> int:
    reader = open_reader(location)
    try:
        return reader.active_units()
    finally:
        reader.close()


def test_header_only_import_refused(rows: list[dict[str, str]], tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    assert cli("import", str(write_rows(tmp_path / "good.csv", rows[:200])), "--db", str(db)).returncode == 0
    before = state(db)
    done = cli("import", str(header_only(tmp_path / "empty.csv")), "--db", str(db))
    message = " ".join(done.stderr.split())
    assert done.returncode == 1, done.stderr
    assert "has 200 units" in message and "would leave 0" in message and "--force" in message
    assert "imported 0 of 0" not in message
    assert state(db) == before
    assert not leftovers(db)
    done = cli("import", str(header_only(tmp_path / "empty.csv")), "--db", str(db), "--force")
    assert done.returncode == 0, done.stderr
    assert units(db) == 0


def test_every_row_rejected_is_refused(rows: list[dict[str, str]], tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    assert cli("import", str(write_rows(tmp_path / "good.csv", rows[:200])), "--db", str(db)).returncode == 0
    before = state(db)
    bad = [{**r, "province": "آتلانتیس"} for r in rows[:50]]
    rejects = tmp_path / "rejects.csv"
    done = cli("import", str(write_rows(tmp_path / "bad.csv", bad)), "--db", str(db), "--skip-bad", str(rejects))
    message = " ".join(done.stderr.split())
    assert done.returncode == 1 and "would leave 0" in message and "50 rows rejected" in message, message
    assert state(db) == before
    assert len(rows_of(rejects.read_text(encoding="utf-8"))) == 50  # the reasons are still written


def test_shrink_beyond_the_share_refused(rows: list[dict[str, str]], tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    assert cli("import", str(write_rows(tmp_path / "all.csv", rows[:200])), "--db", str(db)).returncode == 0
    before = state(db)
    smaller = write_rows(tmp_path / "smaller.csv", rows[:150])  # a quarter fewer units
    done = cli("import", str(smaller), "--db", str(db))
    assert done.returncode == 1 and "would leave 150" in " ".join(done.stderr.split()), done.stderr
    assert state(db) == before
    env_done = cli_env({"JINEF_MAX_SHRINK": "0.3"}, "import", str(smaller), "--db", str(db))
    assert env_done.returncode == 0, env_done.stderr
    assert units(db) == 150
    # 5% fewer is within the default 10%; --max-shrink 0 then refuses even one unit less.
    assert cli("import", str(write_rows(tmp_path / "a.csv", rows[:143])), "--db", str(db)).returncode == 0
    done = cli("import", str(write_rows(tmp_path / "b.csv", rows[:142])), "--db", str(db), "--max-shrink", "0")
    assert done.returncode == 1 and units(db) == 143
    assert cli("import", str(smaller), "--db", str(db), "--max-shrink", "2").returncode == 2


def cli_env(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return cli(*args)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_empty_import_into_no_registry_refused(tmp_path: Path) -> None:
    db = tmp_path / "new.sqlite"
    done = cli("import", str(header_only(tmp_path / "empty.csv")), "--db", str(db))
    assert done.returncode == 1 and "nothing to import" in " ".join(done.stderr.split()), done.stderr
    assert not db.exists()
    assert cli("import", str(header_only(tmp_path / "empty.csv")), "--db", str(db), "--force").returncode == 0
    assert units(db) == 0


def test_guard_on_every_engine(rows: list[dict[str, str]], new_location: NewLocation, tmp_path: Path,
                               divisions: Divisions, boundaries: Boundaries) -> None:
    db = new_location("guarded")
    load(write_rows(tmp_path / "good.csv", rows[:200]), db, divisions, boundaries)
    before, generation = export(db), meta(db)["generation"]
    for path in (header_only(tmp_path / "empty.csv"), write_rows(tmp_path / "small.csv", rows[:100])):
        w = open_writer(db)
        try:
            with pytest.raises(ImportRefused, match="has 200 units"):
                import_file(path, w, divisions, boundaries, guard=ShrinkGuard.of(db))
        finally:
            w.abort()
        assert export(db) == before and meta(db)["generation"] == generation
        assert not leftovers(db)
    # A registry imported from records is not replaced by a build unless forced.
    with pytest.raises(ReplaceRefused, match="imported from records"):
        check_build_replaces(db)
    check_build_replaces(db, force=True)


def test_build_refuses_an_imported_registry(rows: list[dict[str, str]], tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    assert cli("import", str(write_rows(tmp_path / "good.csv", rows[:200])), "--db", str(db)).returncode == 0
    before = state(db)
    done = cli("build", "--units", "300", "--db", str(db))
    message = " ".join(done.stderr.split())
    assert done.returncode == 1 and "imported from records" in message and "--force" in message, message
    assert state(db) == before
    done = cli("build", "--units", "300", "--db", str(db), "--force")
    assert done.returncode == 0, done.stderr
    assert meta(db)["source"] == "generated"
    assert cli("build", "--units", "300", "--seed", "3", "--db", str(db)).returncode == 0  # generated: replaced


def _answers(db: Location, postcodes: list[str]) -> list[bool]:
    with Registry.open(db) as reg:
        return [reg.lookup(p) is not None for p in postcodes]


def test_rollback_restores_the_replaced_registry(rows: list[dict[str, str]], new_location: NewLocation,
                                                 tmp_path: Path, divisions: Divisions,
                                                 boundaries: Boundaries) -> None:
    db = new_location("rolled")
    build_registry(db, 300, 11, divisions, boundaries)  # A: generated
    a_export = export(db)
    a_codes = [r["postcode"] for r in rows_of(a_export)[:50]]
    b_rows = [r for r in rows if r["postcode"] not in set(a_codes)][:200]
    b_codes = [r["postcode"] for r in b_rows]
    load(write_rows(tmp_path / "b.csv", b_rows), db, divisions, boundaries,
         guard=ShrinkGuard.of(db, force=True))  # B replaces A
    assert _answers(db, a_codes[:5] + b_codes[:5]) == [False] * 5 + [True] * 5
    if isinstance(db, Path):
        previous = db.with_name(db.name + ".previous")
        assert previous.is_file() and os.stat(previous).st_mode & 0o777 == 0o600
    done = rollback(db)
    assert not done.recompiled  # A's own image generation was still there
    assert export(db) == a_export
    assert _answers(db, a_codes[:5] + b_codes[:5]) == [True] * 5 + [False] * 5
    # Rolling back again undoes the rollback: B is live again.
    rollback(db)
    assert _answers(db, a_codes[:5] + b_codes[:5]) == [False] * 5 + [True] * 5
    # With the image generations gone but the current one, the restored registry's image is compiled.
    root = _image_root(db)
    current = current_generation(root)
    for folder in root.iterdir():
        if folder.is_dir() and not folder.is_symlink() and folder.name != current:
            shutil.rmtree(folder)
    done = rollback(db)
    assert done.recompiled and export(db) == a_export
    assert _answers(db, a_codes[:5] + b_codes[:5]) == [True] * 5 + [False] * 5


def _image_root(db: Location) -> Path:
    from jinef.common.config import RegistryLocation

    return RegistryLocation.of(db).image_root


def test_cli_rollback(rows: list[dict[str, str]], tmp_path: Path) -> None:
    db = tmp_path / "live.sqlite"
    done = cli("rollback", "--db", str(db))
    assert done.returncode == 1 and "no previous registry" in " ".join(done.stderr.split()), done.stderr
    assert cli("build", "--units", "300", "--db", str(db)).returncode == 0
    done = cli("rollback", "--db", str(db))
    assert done.returncode == 1 and "no previous registry" in " ".join(done.stderr.split()), done.stderr
    a_codes = [r["postcode"] for r in rows_of(export(db))[:5]]
    b_rows = [r for r in rows if r["postcode"] not in set(a_codes)][:200]
    assert cli("import", str(write_rows(tmp_path / "b.csv", b_rows)), "--db", str(db), "--force").returncode == 0
    assert _answers(db, a_codes) == [False] * 5
    done = cli("rollback", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert _answers(db, [*a_codes, b_rows[0]["postcode"]]) == [True] * 5 + [False]
    assert cli("lookup", a_codes[0], "--db", str(db)).returncode == 0
