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

from jinef.api.servicedb import open_store
from jinef.cli.batch import unique_names
from jinef.common.config import RegistryLocation
from jinef.read.registry.registry import Registry
from jinef.read.verify import VerifyConfig, VerifyHub
from jinef.read.verify import national_code as nc
from tests.test_cli import JINEF, run
from tests.verify.verify_helpers import MOBILES, PEOPLE, verify_link

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
    # A test run started in the background (`make test &`, nohup) has SIGINT ignored, which its children inherit, and
    # Python then never raises KeyboardInterrupt: the command gets Ctrl-C's default back, as from a terminal.
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
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


def _matched_rows(path: Path) -> list[list[str]]:
    """The rows of a match output without each answer's own audit trace id (new on every asking)."""
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    trace = rows[0].index("trace_id")
    return [r[:trace] + r[trace + 1:] for r in rows]


def test_batch_match_answers_like_jinef_match_and_sets_unreadable_rows_aside(small_registry: Path,
                                                                            tmp_path: Path) -> None:
    # A registry location of its own (its service and hub databases beside it), answering from the shared image.
    db = tmp_path / "registry.sqlite"
    (tmp_path / "registry.image").symlink_to(small_registry.with_name("registry.image"))
    store = open_store(RegistryLocation.of(db).service_db)
    info, key = store.create_key("bank", ["match"], None)
    store.close()
    (tmp_path / "key").write_text(key)
    with Registry.open(small_registry) as reg:
        postcodes = [a.postcode for _, a in zip(range(300), reg.addresses(), strict=False)]
        with VerifyHub.open(RegistryLocation.of(db).verify_db, reg.status,
                            config=VerifyConfig(dev_sms_outbox=True)) as hub:
            for person, mobile, postcode in zip(PEOPLE[:3], MOBILES, postcodes, strict=False):
                verify_link(hub, person, mobile, postcode)
    people = PEOPLE[:3] + [nc.complete(f"{n:09d}") for n in range(100_000_000, 100_000_297)]
    lines = ["national_code,postcode,customer"]
    lines += [f"{person},{postcode},c{i}" for i, (person, postcode) in enumerate(zip(people, postcodes, strict=True))]
    lines[5] = "0000000001,1234,bad-code"  # an invalid national code and postcode: refused, the rest carry on
    clean = tmp_path / "customers.csv"
    clean.write_text("\n".join(lines) + "\n", encoding="utf-8")
    single = run("match", str(clean), "-o", str(tmp_path / "single.csv"), "--db", str(db), "--purpose",
                 "banking_kyc", "--key-file", str(tmp_path / "key"))
    assert single.returncode == 1, single.stderr  # one row refused
    rows = _matched_rows(tmp_path / "single.csv")
    assert rows[0] == ["national_code", "postcode", "customer", "matched", "role", "verified_since", "error"]
    assert [r[3] for r in rows[1:4]] == ["true"] * 3 and rows[1][4] == "resident"
    assert {r[3] for r in rows[6:]} == {"false"}
    assert rows[5][3] == "" and rows[5][6].startswith("invalid_national_code")
    assert (tmp_path / "single.csv").stat().st_mode & 0o777 == 0o600  # it echoes national codes
    # The same rows with one undecodable line in the middle, on 2 Dask workers.
    dirty = tmp_path / "dirty.csv"
    raw = clean.read_bytes().split(b"\n")
    dirty.write_bytes(b"\n".join([*raw[:100], b"\xff\xfe broken,1234567890,c-x", *raw[100:]]))
    done = run("batch", "match", str(dirty), "-o", str(tmp_path / "dask.csv"), "--db", str(db), "--purpose",
               "banking_kyc", "--key-file", str(tmp_path / "key"), "--partition-rows", "90", "--encoding", "utf-8")
    assert done.returncode == 0, done.stderr
    assert _matched_rows(tmp_path / "dask.csv") == rows
    assert (tmp_path / "dask.csv").stat().st_mode & 0o777 == 0o600
    with (tmp_path / "dask.csv.rejects.csv").open(newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh))[1][:3] == ["100", "national_code", "encoding"]
    assert "1 rows could not be read" in " ".join(done.stdout.split() + done.stderr.split())
    # Every asking audited: the service's call log counts both runs' rows, under the key's organisation.
    store = open_store(RegistryLocation.of(db).service_db)
    records = list(store.iter_audit())
    store.close()
    assert {r.org for r in records} == {"bank"} and {r.key_id for r in records} == {info.id}
    assert sum(r.items for r in records) == 2 * 300
