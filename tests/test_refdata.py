"""Reference data: joins, repairs, the report, and fetching."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions, load_divisions
from jinef.write.refdata.fetch import FetchError, county_population, fetch
from jinef.write.refdata.paths import DataMissingError, data_dir


def test_counts(divisions: Divisions, boundaries: Boundaries) -> None:
    assert len(divisions.provinces) == 31
    assert len(divisions.counties) == 448
    assert len(divisions.cities) == 1354
    assert len(divisions.rural_districts) == 2637
    assert len(boundaries.provinces) == 31
    assert len(boundaries.counties) >= 440


def test_lost_leading_zeros_are_repaired_and_reported(divisions: Divisions) -> None:
    assert "0001" in divisions.counties  # Markazi's Arak: province 00
    assert all(len(c) == 10 for c in divisions.cities)
    assert any(i.action == "padded leading zero" for i in divisions.report.issues)


def test_population_joined(divisions: Divisions) -> None:
    total = sum(c.population or 0 for c in divisions.counties.values())
    assert total == 79_926_270
    # Counties newer than the census are reported, not guessed.
    newer = [i for i in divisions.report.issues if "no 2016 census figure" in i.problem]
    assert newer and len(newer) == sum(1 for c in divisions.counties.values() if c.population is None)


def test_failed_polygon_joins_are_reported(boundaries: Boundaries, divisions: Divisions) -> None:
    missing = set(divisions.counties) - set(boundaries.counties)
    reported = {i.key.split()[0] for i in boundaries.report.issues if i.problem == "no county polygon"}
    assert missing == reported


def test_seat_is_the_county_namesake(divisions: Divisions) -> None:
    seat = divisions.seat_of("2301")
    assert seat is not None


def test_corrupt_file_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "iran"
    src = data_dir()
    for sub in ("divisions", "population"):
        (root / sub).mkdir(parents=True)
        for f in (src / sub).iterdir():
            (root / sub / f.name).write_bytes(f.read_bytes())
    (root / "divisions" / "counties.csv").write_bytes(b"\xff\xfe garbage")
    with pytest.raises(DataMissingError, match=r"counties\.csv"):
        load_divisions(root)


def test_county_population_is_the_census_sum() -> None:
    census = (data_dir() / "population" / "iran2016census.csv").read_text("utf-8")
    ours = list(csv.DictReader(county_population(census).splitlines()))
    theirs = list(csv.DictReader((data_dir() / "population" / "county_population_2016.csv").read_text("utf-8")
                                 .splitlines()))
    assert {r["county_code"]: int(r["population"]) for r in ours} == {
        r["county_code"]: int(r["population"]) for r in theirs}


def test_fetch_offline_fails_clearly_and_writes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "data"
    with pytest.raises(FetchError, match="offline"):
        fetch(dest, base="http://127.0.0.1:9")  # the discard port: nothing listens
    assert not dest.exists()
    assert not list(tmp_path.glob(".fetch-*"))


def test_fetch_cli_exit_code(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "jinef.cli.main", "data", "fetch", "--dest", str(tmp_path / "d")],
                       env={"JINEF_FETCH_BASE": "http://127.0.0.1:9", "PATH": ""}, capture_output=True, text=True)
    assert r.returncode == 1 and "offline" in r.stderr


def test_boundaries_cache_serves_the_same_polygons_and_follows_the_sources(tmp_path: Path, divisions: Divisions,
                                                                           boundaries: Boundaries) -> None:
    import os
    import shutil

    from jinef.write.refdata.cache import load_boundaries_cached

    root = tmp_path / "iran"
    for sub in ("divisions", "population", "boundaries"):
        shutil.copytree(data_dir() / sub, root / sub)
    cache = tmp_path / "cache"
    first = load_boundaries_cached(divisions, root, cache)
    files = list(cache.iterdir())
    assert len(files) == 1
    again = load_boundaries_cached(divisions, root, cache)  # from the file this time
    for fresh, cached in ((boundaries.provinces, again.provinces), (boundaries.counties, again.counties)):
        assert list(fresh) == list(cached)
        assert all(fresh[k].equals_exact(cached[k], 0) for k in fresh)
    assert again.report == first.report == boundaries.report
    # A touched source file is a new fingerprint: loaded again, cached under a new name.
    f = root / "boundaries" / "provinces.geojson"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    load_boundaries_cached(divisions, root, cache)
    assert len(list(cache.iterdir())) == 2
    # A damaged cache file is replaced, not trusted.
    damaged = sorted(cache.iterdir(), key=lambda p: p.stat().st_mtime_ns)[-1]
    damaged.write_bytes(b"not a cache")
    assert len(load_boundaries_cached(divisions, root, cache).counties) == len(boundaries.counties)
    assert damaged.read_bytes() != b"not a cache"
