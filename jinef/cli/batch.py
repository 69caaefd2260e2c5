"""`jinef batch geocode|reverse|lookup|match INPUT -o OUTPUT`: whole files on a Dask cluster, checkpointed by partition.

The input (CSV in any encoding the single-process commands read, or Parquet) is cut into partitions of
``--partition-rows`` rows, written as UTF-8 CSV parts in ``<output>.batch/`` beside the output (a folder every
worker must see: one machine, or a shared file system). Each partition is one Dask task: the worker opens the
compiled read image once (memory-mapped, from ``--db``'s image folder) and runs the very function the
single-process command runs (:func:`jinef.cli.geocode.geocode_file`, :func:`jinef.cli.reverse.reverse_csv`,
:func:`jinef.cli.lookup_file.lookup_csv`, :func:`jinef.cli.match_file.match_csv`), so the output is the same
bytes (for matches, all but each answer's own audit trace id). A finished partition is renamed into place; a
re-run after a crash, a killed worker or Ctrl-C skips it, and a killed worker costs only its own partitions,
which Dask runs again elsewhere. The parts are joined in input order at the end: every input row appears exactly
once, in the output or, when its bytes are not text in the file's encoding, in ``<output>.rejects.csv`` with its
row number, field and rule.

A match run belongs to the organisation of an API key (``$JINEF_API_KEY`` or ``--key-file``, resolved once by the
client: workers get its label, never the key); the parts and the output echo national codes, so the work folder
is 0700 and the output 0600. A retried partition asks its pairs again: the hub audits both askings, and its
enumeration counts do not count a pair twice.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from jinef.cli.language import shown
from jinef.cli.options import DbOption
from jinef.cli.output import console, fail, reason
from jinef.common.config import RegistryLocation
from jinef.common.input_encoding import check_encoding, detect_encoding
from jinef.common.messages import MessageError, message

KINDS = ("geocode", "reverse", "lookup", "match")
_REGISTRIES: dict[str, Any] = {}  # per worker process: image folder → Registry, opened once
_HUBS: dict[tuple[str, str], Any] = {}  # per worker process: (registry, image) → verification hub, opened once


def _registry(image: str) -> Any:
    from jinef.read.registry.registry import Registry

    if image not in _REGISTRIES:
        _REGISTRIES[image] = Registry.open(Path(image))
    return _REGISTRIES[image]


def run_partition(kind: str, image: str, src: str, dst: str, options: dict[str, Any]) -> int:
    """One partition on a worker: ``src`` (a CSV part with header) → ``dst``, renamed into place when done."""
    tmp = f"{dst}.{os.getpid()}.tmp"
    reg = _registry(image)
    if kind == "geocode":
        from jinef.cli.geocode import geocode_file

        n = geocode_file(reg.geocoder, src, tmp, column=options["column"], workers=1, progress=False,
                         encoding="utf-8").rows
    elif kind == "match":
        n = _match_partition(image, src, tmp, options)
    elif kind == "lookup":
        from jinef.cli.lookup_file import lookup_csv

        with open(src, newline="", encoding="utf-8") as fin, open(tmp, "w", newline="", encoding="utf-8") as fout:
            n = sum(lookup_csv(reg, fin, fout, options["column"]).values())
    else:
        from jinef.cli.reverse import reverse_csv

        with open(src, newline="", encoding="utf-8") as fin, open(tmp, "w", newline="", encoding="utf-8") as fout:
            n = sum(reverse_csv(reg, fin, fout, options["lat_column"], options["lon_column"],
                                options["radius_m"]).values())
    os.replace(tmp, dst)
    return n


def _match_partition(image: str, src: str, tmp: str, options: dict[str, Any]) -> int:
    """One partition of matches, answered by this worker's hub and recorded in the service's call log."""
    from jinef.cli.match_file import MatchColumns, audit_run, match_csv, open_hub, private_output

    db = options["db"]
    if (db, image) not in _HUBS:
        _HUBS[(db, image)] = open_hub(db, image)  # kept open for the worker's later partitions
    t0 = time.perf_counter()
    with open(src, newline="", encoding="utf-8") as fin, private_output(tmp) as fout:
        n = sum(match_csv(_HUBS[(db, image)], fin, fout, options["org_label"], options["purpose"],
                          MatchColumns(*options["match_columns"])).values())
    audit_run(db, options["org"], options["key_id"], n, time.perf_counter() - t0, worker=os.getpid())
    return n


def _rows(path: Path, encoding: str | None) -> Iterator[list[str]]:
    """The input's rows, header first (CSV read as the single-process commands read it, or Parquet).

    Bytes the encoding cannot decode come through as surrogate escapes, so that :func:`split` sets that row aside
    and carries on.
    """
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        f = pq.ParquetFile(path)
        yield list(f.schema_arrow.names)
        for batch in f.iter_batches(batch_size=65_536):
            columns = [["" if v is None else str(v) for v in c.to_pylist()] for c in batch.columns]
            yield from (list(r) for r in zip(*columns, strict=True))
        return
    enc = check_encoding(encoding) if encoding else detect_encoding(path)
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding=enc, errors="surrogateescape") as fh:
        yield from csv.reader(line.replace("\x00", "") for line in fh)


REJECT_COLUMNS = ("row", "field", "rule", "message", "message_fa")


def rejects_file(output: Path) -> Path:
    """Where the rows that could not be read go: ``<output>.rejects.csv``."""
    return output.with_name(output.name + ".rejects.csv")


def _unreadable(row: list[str], header: list[str]) -> tuple[str, str] | None:
    """The first field holding bytes the input's encoding cannot decode, and its name; None when all read."""
    for i, value in enumerate(row):
        if any("\udc80" <= ch <= "\udcff" for ch in value):
            return (header[i] if i < len(header) else f"column {i + 1}"), value
    return None


def split(path: Path, work: Path, rows_per_part: int, encoding: str | None,
          rejects: Path | None = None) -> tuple[int, int]:
    """Cut the input into CSV parts with its header; the number of parts and of rows set aside in ``rejects``.

    A row holding bytes the encoding cannot decode is not guessed at: it goes to the rejects file with its row
    number (1 = the first row after the header), field and rule, and the rest carry on.
    """
    rows = _rows(path, encoding)
    header = next(rows, None)
    if header is None:
        raise MessageError(message("cli.file.empty"))
    if _unreadable(header, header) is not None:
        raise MessageError(message("cli.file.unreadable_header"))
    n, kept, fh, writer = 0, 0, None, None
    bad: list[list[str]] = []
    for number, row in enumerate(rows, start=1):
        if (what := _unreadable(row, header)) is not None:
            bad.append([str(number), what[0], "encoding",
                        "bytes that are not text in the file's encoding",
                        "بایت‌هایی که در رمزگذاری پرونده متن نیستند"])
            continue
        if kept % rows_per_part == 0:
            if fh is not None:
                fh.close()
            fh = open(work / f"in-{n:05d}.csv", "w", newline="", encoding="utf-8")
            writer = csv.writer(fh)
            writer.writerow(header)
            n += 1
        assert writer is not None
        writer.writerow(row)
        kept += 1
    if fh is not None:
        fh.close()
    if n == 0:  # a header alone: one empty part, so the output still has its header
        with open(work / "in-00000.csv", "w", newline="", encoding="utf-8") as empty:
            csv.writer(empty).writerow(header)
        n = 1
    if rejects is not None:
        if bad:
            with open(rejects, "w", newline="", encoding="utf-8") as out:
                csv.writer(out).writerows([list(REJECT_COLUMNS), *bad])
        else:
            rejects.unlink(missing_ok=True)  # a stale one from an earlier run of another file
    return n, len(bad)


def join(work: Path, parts: int, output: Path) -> None:
    """The parts in input order into the output (the header once); Parquet by the output's extension."""
    target = output if output.suffix.lower() != ".parquet" else work / "joined.csv"
    # Owner-only like the parts: a match output echoes national codes, and any customer file is personal data.
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        for i in range(parts):
            with open(work / f"out-{i:05d}.csv", "rb") as part:
                if i:
                    part.readline()  # the header, written once
                shutil.copyfileobj(part, out)
    if target != output:
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        with open(target, "rb") as fh:
            names = next(csv.reader([fh.readline().decode("utf-8")]))
        table = pcsv.read_csv(target, convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, "string"), strings_can_be_null=False))
        pq.write_table(table.rename_columns(unique_names(names)), output)
        os.chmod(output, 0o600)


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique for Parquet: a result column named like an input one («lat») gets «_result»."""
    seen: set[str] = set()
    out = []
    for name in names:
        while name in seen:
            name = f"{name}_result"
        seen.add(name)
        out.append(name)
    return out


def batch(
    kind: Annotated[str, typer.Argument(help="geocode, reverse, lookup or match.")],
    input_file: Annotated[Path, typer.Argument(help="CSV or Parquet input.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="CSV or Parquet output (by its extension).")],
    db: DbOption = None,
    column: Annotated[str | None, typer.Option("--column", help="geocode: the address column (default address); "
                                                                "lookup: the postcode column (default postcode).")]
    = None,
    lat_column: Annotated[str, typer.Option("--lat-column", help="reverse: the latitude column.")] = "lat",
    lon_column: Annotated[str, typer.Option("--lon-column", help="reverse: the longitude column.")] = "lon",
    radius_m: Annotated[float, typer.Option("--radius", min=0, help="reverse: search radius in metres.")] = 100.0,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="An existing Dask scheduler's address "
                                                                      "(default: a local cluster).")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Local cluster: worker processes.")] = 2,
    partition_rows: Annotated[int, typer.Option("--partition-rows", min=1, help="Rows per partition.")] = 50_000,
    encoding: Annotated[str | None, typer.Option("--encoding", help="CSV input's encoding (default: detected).")]
    = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="match: why the organisation asks.")] = None,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="match: a file holding the organisation's API "
                                                                     "key (default: $JINEF_API_KEY).")] = None,
    code_column: Annotated[str, typer.Option("--code-column", help="match: the national code column.")]
    = "national_code",
    role_column: Annotated[str, typer.Option("--role-column", help="match: the role column, used when present.")]
    = "role",
) -> None:
    """Geocode, reverse-geocode, look up or match a whole file on Dask workers; a re-run resumes where the last
    one stopped."""
    if kind not in KINDS:
        fail(message("cli.batch.unknown_kind", kind=kind, choices=KINDS), code=2)
    column = column or ("postcode" if kind in ("lookup", "match") else "address")
    if not input_file.is_file():
        fail(message("cli.file.missing", path=str(input_file)), code=2)
    who: dict[str, Any] = {}
    if kind == "match":
        who = _match_options(db, purpose, key_file, (code_column, column, role_column))
    image = RegistryLocation.of(db).image_root
    if not (image / "current").exists():
        fail(message("cli.batch.no_image", path=str(image)))
    image_dir = str((image / "current").resolve())
    work = output.with_name(output.name + ".batch")
    stat = input_file.stat()
    plan = {"kind": kind, "input": str(input_file.resolve()), "size": stat.st_size, "mtime": stat.st_mtime_ns,
            "partition_rows": partition_rows, "column": column, "lat_column": lat_column, "lon_column": lon_column,
            "radius_m": radius_m, "image": image_dir, "db": db, **who}
    manifest = work / "manifest.json"
    try:
        kept = json.loads(manifest.read_text()) if manifest.is_file() else None
    except ValueError:
        kept = None
    if kept is None or {k: v for k, v in kept.items() if k not in ("parts", "rejected")} != plan:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, mode=0o700)  # the parts are the customer's rows
        try:
            parts, rejected = split(input_file, work, partition_rows, encoding, rejects_file(output))
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            shutil.rmtree(work, ignore_errors=True)
            fail(message("cli.file.problem", path=str(input_file), problem=reason(exc)))
        manifest.write_text(json.dumps({**plan, "parts": parts, "rejected": rejected}))
    else:
        parts, rejected = int(kept["parts"]), int(kept.get("rejected", 0))
    todo = [i for i in range(parts) if not (work / f"out-{i:05d}.csv").is_file()]
    console.print(shown(message("cli.batch.partitions", parts=parts, done=parts - len(todo))), highlight=False,
                  markup=False)
    t0 = time.perf_counter()
    if todo:
        _run(kind, image_dir, work, todo, plan, scheduler, workers)
    join(work, parts, output)
    shutil.rmtree(work, ignore_errors=True)
    if rejected:
        console.print(shown(message("cli.batch.rejected", rejected=rejected, path=str(rejects_file(output)))),
                      highlight=False, markup=False)
    console.print(shown(message("cli.batch.done", kind=kind, parts=parts, output=str(output),
                                seconds=time.perf_counter() - t0)), highlight=False, markup=False)


def _match_options(db: str | None, purpose: str | None, key_file: Path | None,
                   columns: tuple[str, str, str]) -> dict[str, Any]:
    """Who asks and why, for a match run: checked once here, so no worker ever sees the key."""
    from jinef.api.servicedb import hub_label
    from jinef.cli.match_file import principal_from_key
    from jinef.read.verify import VerifyConfig

    allowed = VerifyConfig().purposes
    if purpose not in allowed:
        fail(message("cli.match.needs_purpose", choices=sorted(allowed)), code=2)
    principal = principal_from_key(db, key_file)
    return {"purpose": purpose, "org": principal.org, "key_id": principal.key_id,
            "org_label": hub_label(principal.org_id, principal.org), "match_columns": list(columns)}


def _run(kind: str, image: str, work: Path, todo: list[int], options: dict[str, Any], scheduler: str | None,
         workers: int) -> None:
    from distributed import Client, LocalCluster, as_completed
    from rich.progress import Progress

    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                  dashboard_address=None)
    client = Client(scheduler or cluster)
    try:
        futures = [client.submit(run_partition, kind, image, str(work / f"in-{i:05d}.csv"),
                                 str(work / f"out-{i:05d}.csv"), options, key=f"jinef-{kind}-{i}-{os.getpid()}",
                                 retries=2) for i in todo]
        with Progress(transient=True, disable=not sys.stderr.isatty()) as bar:
            task = bar.add_task("partitions", total=len(futures))
            for future in as_completed(futures):
                future.result()  # a partition that failed on every retry stops the run (the rest stay done)
                bar.advance(task)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def register(app: typer.Typer) -> None:
    """Attach `jinef batch`."""
    app.command()(batch)
