"""Import of an address file: round trip, row checks, --skip-bad, --append, atomicity."""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from jinef.model.address import EXPORT_COLUMNS
from jinef.read.registry.registry import Registry
from jinef.write.compile import image_step
from jinef.write.export.addresses import write_export
from jinef.write.ingest.importer import ImportError_, import_file
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.store.base import ProvinceStats, RegistryNotFoundError
from jinef.write.store.open import open_reader, open_writer
from tests.conftest import EngineRegistries, leftovers

JINEF = [sys.executable, "-m", "jinef.cli.main"]
Location = Path | str
NewLocation = Callable[[str], Location]


def export(path: Location, fmt: str = "csv") -> str:
    """The stored registry's export (the store, not its read image: what an import or build must leave intact)."""
    buf = io.StringIO()
    reader = open_reader(path)
    try:
        write_export(reader.iter_addresses(), buf, fmt)  # type: ignore[arg-type]
    finally:
        reader.close()
    return buf.getvalue()


def stored_stats(location: Location) -> list[ProvinceStats]:
    """The store's per-province counts."""
    reader = open_reader(location)
    try:
        return reader.stats()
    finally:
        reader.close()


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, EXPORT_COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return path


def load(path: Path, db: Location, div: Divisions, bnd: Boundaries, **kw: object):  # type: ignore[no-untyped-def]
    w = open_writer(db, mode="append" if kw.get("append") else "replace")
    try:
        s = import_file(path, w, div, bnd, **kw)  # type: ignore[arg-type]
    except BaseException:
        w.abort()
        raise
    step = image_step(db)
    w.commit(prepare=step)
    step.publish()
    return s


@pytest.fixture(scope="module")
def exported(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    text = export(small_registry)
    path = tmp_path_factory.mktemp("exp") / "export.csv"
    path.write_text(text, encoding="utf-8")
    return path, text


@pytest.fixture(scope="module")
def engine_export(engine_registries: EngineRegistries, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The export every engine imports: the small SQLite registry's."""
    text = export(engine_registries.get("sqlite"))
    path = tmp_path_factory.mktemp("exp") / "engine-export.csv"
    path.write_text(text, encoding="utf-8")
    return path, text


def test_round_trip_same_bytes(engine_export: tuple[Path, str], new_location: NewLocation, tmp_path: Path,
                               divisions: Divisions, boundaries: Boundaries) -> None:
    path, text = engine_export
    r, j = new_location("r"), new_location("j")
    load(path, r, divisions, boundaries)
    assert export(r) == text
    jsonl = tmp_path / "e.jsonl"
    jsonl.write_text(export(r, "jsonl"), encoding="utf-8")
    load(jsonl, j, divisions, boundaries, fmt="jsonl")
    assert export(j) == text


def broken_rows(text: str) -> list[dict[str, str]]:
    rows = rows_of(text)[:300]
    rows[10]["postcode"] = "1045678901"  # 0 in the first five
    rows[20]["postcode"] = rows[21]["postcode"]  # duplicate (reported on row 22)
    rows[30]["lat"] = "abc"
    rows[40]["province"] = "آتلانتیس"
    rows[50]["lat"], rows[50]["lon"] = "41.0", "29.0"  # Istanbul: outside any Iranian province
    rows[60]["floor"] = "سوم"
    rows[70]["locality"] = ""
    return rows


def test_bad_row_refused_with_row_field_rule(engine_export: tuple[Path, str], new_location: NewLocation,
                                             tmp_path: Path, divisions: Divisions, boundaries: Boundaries) -> None:
    _, text = engine_export
    db = new_location("keep")
    load(write_rows(tmp_path / "good.csv", rows_of(text)[1000:1500]), db, divisions, boundaries)
    before = export(db)
    bad = write_rows(tmp_path / "bad.csv", broken_rows(text))
    with pytest.raises(ImportError_) as info:
        load(bad, db, divisions, boundaries)
    assert info.value.error.row == 11 and info.value.error.field == "postcode"
    assert "zero_or_two_in_first_five" in info.value.error.rule
    assert export(db) == before  # the previous registry is intact
    assert not leftovers(db)


def test_skip_bad_loads_the_rest(engine_export: tuple[Path, str], new_location: NewLocation, tmp_path: Path,
                                 divisions: Divisions, boundaries: Boundaries) -> None:
    _, text = engine_export
    bad = write_rows(tmp_path / "bad.csv", broken_rows(text))
    r = new_location("r")
    s = load(bad, r, divisions, boundaries, skip_bad=True)
    got = {(e.row, e.field, e.rule.split(",")[0]) for _, e in s.rejects}
    assert got == {(11, "postcode", "zero_or_two_in_first_five"), (22, "postcode", "duplicate"),
                   (31, "lat/lon", "not_a_number"), (41, "province", "unknown_division"),
                   (51, "lat/lon", "outside_province"), (61, "floor", "not_an_integer"),
                   (71, "locality", "required")}
    assert s.loaded == 293
    assert sum(st.units for st in stored_stats(r)) == 293


def test_append_adds_and_refuses_known_postcodes(engine_export: tuple[Path, str], new_location: NewLocation,
                                                 tmp_path: Path, divisions: Divisions, boundaries: Boundaries) -> None:
    _, text = engine_export
    rows = rows_of(text)
    first = write_rows(tmp_path / "a.csv", rows[:500])
    second = write_rows(tmp_path / "b.csv", rows[500:800])
    db = new_location("r")
    load(first, db, divisions, boundaries)
    load(second, db, divisions, boundaries, append=True)
    with Registry.open(db) as reg:
        assert reg.lookup(rows[799]["postcode"]) is not None
        assert sum(st.units for st in stored_stats(db)) == 800
    with pytest.raises(ImportError_, match="already in the registry"):
        load(second, db, divisions, boundaries, append=True)
    with Registry.open(db) as reg:
        assert sum(st.units for st in stored_stats(db)) == 800


def test_wrong_header_is_refused(new_location: NewLocation, tmp_path: Path, divisions: Divisions,
                                 boundaries: Boundaries) -> None:
    f = tmp_path / "h.csv"
    f.write_text("postcode,city\n1345678901,x\n", encoding="utf-8")
    db = new_location("r")
    with pytest.raises(ImportError_, match="missing"):
        load(f, db, divisions, boundaries)
    with pytest.raises(RegistryNotFoundError):
        Registry.open(db)
    assert not leftovers(db)


def test_append_needs_a_registry(new_location: NewLocation) -> None:
    with pytest.raises(FileNotFoundError, match="append"):
        open_writer(new_location("none"), mode="append")


def test_killed_import_leaves_the_old_registry(exported: tuple[Path, str], tmp_path: Path,
                                               small_registry: Path) -> None:
    path, _ = exported
    db = tmp_path / "live.sqlite"
    shutil.copy(small_registry, db)
    before = export(db)
    env = {**os.environ, "JINEF_DB": str(db)}
    proc = subprocess.Popen([*JINEF, "import", str(path)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and not list(tmp_path.glob(".live.sqlite.building-*")):
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert export(db) == before
    # Nothing of the import lives on: its forked shard writer sees the pipe close and ends.
    deadline = time.time() + 10
    while (left := _processes_with(str(path))) and time.time() < deadline:
        time.sleep(0.1)
    assert not left, f"processes of the killed import still run: {left}"


def _processes_with(text: str) -> list[int]:
    """Ids of live processes whose command line holds ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State"))
                if "zombie" not in state:
                    found.append(int(entry.name))
        except (OSError, UnicodeDecodeError, StopIteration):
            continue
    return found


def test_killed_build_leaves_the_old_registry(engine: str, engine_export: tuple[Path, str], new_location: NewLocation,
                                             tmp_path: Path, divisions: Divisions, boundaries: Boundaries) -> None:
    _, text = engine_export
    db = new_location("live")
    load(write_rows(tmp_path / "old.csv", rows_of(text)[:300]), db, divisions, boundaries)
    before = export(db)
    # Far too many units to finish in the half second it is given.
    # --force: the registry was imported from records, which a build refuses to replace otherwise.
    proc = subprocess.Popen([*JINEF, "build", "--units", "100000", "--db", str(db), "--force"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and not leftovers(db):
        time.sleep(0.05)
    assert leftovers(db), "the build never started"
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert export(db) == before
    # What the killed build left (a build file and shard folder, or a build schema) is removed by the next
    # build (for PostgreSQL once the server has noticed the death).
    deadline = time.time() + 10
    while leftovers(db) and time.time() < deadline:
        open_writer(db).abort()
        time.sleep(0.1)
    assert not leftovers(db)
    assert export(db) == before
