"""`jinef batch` on a local Dask cluster of worker processes: the same output as the single-process commands,
a worker killed mid-run costing only a retry, and an interrupted run resumed without redoing its partitions."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
from distributed import Client, LocalCluster

from jinef.cli.batch import unique_names
from jinef.read.registry.registry import Registry
from tests.test_cli import JINEF, run

ROWS = 8_000


def _addresses(registry: Path, path: Path, rows: int = ROWS) -> Path:
    """A CSV of standard addresses written loosely (no commas), repeated to ``rows`` rows, with their points."""
    with Registry.open(registry) as reg:
        units = [a for _, a in zip(range(3000), reg.addresses(), strict=False)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "address", "lat", "lon"])
        for i in range(rows):
            a = units[i % len(units)]
            w.writerow([i, a.standard_address.replace("، ", " "), a.lat, a.lon])
    return path


def test_batch_output_equals_the_single_process_commands(small_registry: Path, tmp_path: Path) -> None:
    src = _addresses(small_registry, tmp_path / "in.csv", 2000)
    db = str(small_registry)
    assert run("geocode", str(src), "-o", str(tmp_path / "single.csv"), "--db", db, "--workers", "1").returncode == 0
    done = run("batch", "geocode", str(src), "-o", str(tmp_path / "dask.csv"), "--db", db, "--partition-rows", "700")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "single.csv").read_bytes()
    assert not (tmp_path / "dask.csv.batch").exists()
    # Parquet in and out (reverse geocoding): the same rows as the single-process command's CSV.
    assert run("reverse", str(src), "-o", str(tmp_path / "rsingle.csv"), "--db", db).returncode == 0
    pq.write_table(_as_parquet(src), tmp_path / "in.parquet")
    par = run("batch", "reverse", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet"), "--db", db,
              "--partition-rows", "900")
    assert par.returncode == 0, par.stderr
    table = pq.read_table(tmp_path / "out.parquet")
    with (tmp_path / "rsingle.csv").open(newline="", encoding="utf-8") as fh:
        expected = list(csv.reader(fh))
    assert table.column_names == unique_names(expected[0])
    assert [list(r.values()) for r in table.to_pylist()] == expected[1:]
    assert unique_names(["lat", "lon", "postcode", "lat", "lat"]) == ["lat", "lon", "postcode", "lat_result",
                                                                      "lat_result_result"]


def _as_parquet(src: Path) -> pa.Table:

    return pcsv.read_csv(src, convert_options=pcsv.ConvertOptions(
        column_types={c: "string" for c in ("id", "address", "lat", "lon")}))


def test_a_worker_killed_mid_run_costs_only_a_retry(small_registry: Path, tmp_path: Path) -> None:
    src = _addresses(small_registry, tmp_path / "in.csv")
    db = str(small_registry)
    assert run("geocode", str(src), "-o", str(tmp_path / "single.csv"), "--db", db, "--workers", "1").returncode == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        proc = subprocess.Popen([*JINEF, "batch", "geocode", str(src), "-o", str(tmp_path / "dask.csv"), "--db", db,
                                 "--partition-rows", "400", "--scheduler", cluster.scheduler_address],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        work = tmp_path / "dask.csv.batch"
        _wait_for(lambda: len(list(work.glob("out-*.csv"))) >= 2, proc)
        victim = next(iter(client.run(os.getpid).values()))
        os.kill(victim, signal.SIGKILL)  # the nanny starts a new worker; Dask runs the lost partition again
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, out + err
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "single.csv").read_bytes()


def test_an_interrupted_run_resumes_without_redoing_finished_partitions(small_registry: Path,
                                                                       tmp_path: Path) -> None:
    src = _addresses(small_registry, tmp_path / "in.csv")
    db = str(small_registry)
    assert run("geocode", str(src), "-o", str(tmp_path / "single.csv"), "--db", db, "--workers", "1").returncode == 0
    args = [*JINEF, "batch", "geocode", str(src), "-o", str(tmp_path / "dask.csv"), "--db", db, "--partition-rows",
            "400", "--workers", "1"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    work = tmp_path / "dask.csv.batch"
    _wait_for(lambda: len(list(work.glob("out-*.csv"))) >= 3, proc)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    proc.communicate(timeout=120)
    assert not (tmp_path / "dask.csv").exists()
    finished = {p.name: p.stat().st_mtime_ns for p in work.glob("out-*.csv")}
    assert 3 <= len(finished) < ROWS // 400
    seen: dict[str, int] = {}
    watcher = threading.Thread(target=_watch, args=(work, finished, seen), daemon=True)
    watcher.start()
    again = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{ROWS // 400} partitions, {len(finished)} already done" in " ".join(again.stderr.split())
    assert not seen, f"finished partitions were written again: {seen}"
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "single.csv").read_bytes()


def _watch(work: Path, finished: dict[str, int], seen: dict[str, int]) -> None:
    """Note any finished partition whose file changes while the resumed run goes (until the folder is gone)."""
    while work.exists():
        for name, mtime in finished.items():
            try:
                if (work / name).stat().st_mtime_ns != mtime:
                    seen[name] = 1
            except FileNotFoundError:
                pass
        time.sleep(0.02)


def _wait_for(condition: object, proc: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the batch made no progress"
        time.sleep(0.05)



def test_batch_lookup_equals_the_single_process_lookup_of_a_file(small_registry: Path, tmp_path: Path) -> None:
    with Registry.open(small_registry) as reg:
        units = [a for _, a in zip(range(900), reg.addresses(), strict=False)]
    src = tmp_path / "codes.csv"
    with src.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["customer", "postcode"])
        for i, a in enumerate(units):
            w.writerow([f"c{i}", a.postcode if i % 3 else a.postcode.translate(str.maketrans("0123456789",
                                                                                               "۰۱۲۳۴۵۶۷۸۹"))])
        w.writerow(["unknown", "1111111112"])
        w.writerow(["invalid", "12345"])
    db = str(small_registry)
    single = run("lookup", "--file", str(src), "-o", str(tmp_path / "single.csv"), "--db", db)
    assert single.returncode == 1, single.stderr  # every row answered; one not found, one invalid
    done = run("batch", "lookup", str(src), "-o", str(tmp_path / "dask.csv"), "--db", db, "--partition-rows", "250")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "dask.csv").read_bytes() == (tmp_path / "single.csv").read_bytes()
    with (tmp_path / "dask.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(units) + 2
    assert all(r["postcode_found"] == a.postcode and r["standard_address"] == a.standard_address
               for r, a in zip(rows, units, strict=False))
    assert rows[-2]["reason"] == "not_found" and rows[-1]["reason"].startswith("invalid: wrong_length")
