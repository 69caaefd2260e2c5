"""`jinef geocode`: one query (``--query``) or a whole CSV file, streamed, on all cores."""

from __future__ import annotations

import csv
import gc as pygc
import multiprocessing as mp
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NamedTuple

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jinef.cli.csv_rows import header_and_columns
from jinef.cli.language import shown
from jinef.cli.options import DbOption
from jinef.cli.output import console, fail, print_json, reason
from jinef.cli.registry_cmds import open_registry
from jinef.common.csv_safety import neutralise_row
from jinef.common.input_encoding import (
    ENCODING_CHOICES,
    PERSIAN_TEXT,
    check_encoding,
    detect_encoding,
    reading_error,
)
from jinef.common.messages import MessageError, message
from jinef.read.geocode.address_rows import RESULT_COLUMNS, geocode_cells
from jinef.read.geocode.geocoder import Geocoder

OUT_COLUMNS = RESULT_COLUMNS
CHUNK = 256
_GEOCODER: Geocoder | None = None  # set before forking; workers inherit it


def _geocode_chunk(texts: list[str]) -> list[list[str]]:
    gc = _GEOCODER
    assert gc is not None
    return geocode_cells(gc, texts)


def _chunks(reader: Iterator[list[str]], col: int) -> Iterator[tuple[list[list[str]], list[str]]]:
    rows: list[list[str]] = []
    for row in reader:
        rows.append(row)
        if len(rows) >= CHUNK:
            yield rows, [_cell(r, col) for r in rows]
            rows = []
    if rows:
        yield rows, [_cell(r, col) for r in rows]


def _cell(row: list[str], col: int) -> str:
    return row[col] if col < len(row) else ""


class GeocodeRun(NamedTuple):
    """What a file run did: rows written, rows whose address has Persian letters, the encoding read, rows that
    matched nothing."""

    rows: int
    persian_rows: int
    encoding: str
    unmatched: int = 0


def geocode_file(gc: Geocoder, src: str, dst: str | None, column: str = "address", workers: int | None = None,
                 progress: bool = True, encoding: str | None = None) -> GeocodeRun:
    """Geocode a CSV file into another (``dst`` None: stdout), appending the result columns (``encoding`` None:
    detected)."""
    global _GEOCODER
    _GEOCODER = gc
    workers = workers or os.cpu_count() or 1
    csv.field_size_limit(sys.maxsize)
    size = os.path.getsize(src)
    encoding = check_encoding(encoding) if encoding else detect_encoding(src)
    try:
        with open(src, newline="", encoding=encoding) as fin:
            fout = open(dst, "w", newline="", encoding="utf-8") if dst is not None else sys.stdout
            try:
                n, persian, unmatched = _geocode_stream(fin, fout, column, workers, progress, size)
            finally:
                if dst is not None:
                    fout.close()
    except UnicodeDecodeError as exc:  # a wrong --encoding: say so, not "geocoded N rows"
        raise MessageError(reading_error(src, encoding, exc)) from None
    return GeocodeRun(n, persian, encoding, unmatched)


def _geocode_stream(fin: Any, fout: Any, column: str, workers: int, progress: bool, size: int,
                    ) -> tuple[int, int, int]:
    """Rows written, rows with Persian text in the address column, rows that matched nothing."""
    reader = csv.reader(line.replace("\x00", "") for line in fin)
    header, (col,) = header_and_columns(reader, column)
    writer = csv.writer(fout)
    writer.writerow(neutralise_row([*header, *OUT_COLUMNS]))
    with Progress(TextColumn("geocoding"), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                  TimeElapsedColumn(), console=console, disable=not progress, transient=True) as bar:
        task = bar.add_task("rows", total=None)
        counter = _PersianCounter()
        chunks = counter.count(_chunks(reader, col))
        if workers <= 1:
            results: Iterator[tuple[list[list[str]], list[list[str]]]] = (
                (rows, _geocode_chunk(texts)) for rows, texts in chunks
            )
            n, matched = _write(results, writer, bar, task, fin, size)
        else:
            # Workers share the index copy-on-write; frozen objects are never touched by the
            # collector, so its passes do not copy every page of the index into each worker.
            pygc.freeze()
            ctx = mp.get_context("fork")
            with ctx.Pool(workers) as pool:
                pending = _pairs(pool, chunks)
                n, matched = _write(pending, writer, bar, task, fin, size)
    return n, counter.rows, n - matched


class _PersianCounter:
    """Counts the addresses that hold Persian letters while the chunks go by."""

    def __init__(self) -> None:
        self.rows = 0

    def count(self, chunks: Iterator[tuple[list[list[str]], list[str]]],
              ) -> Iterator[tuple[list[list[str]], list[str]]]:
        """The chunks unchanged, counted."""
        search = PERSIAN_TEXT.search
        for rows, texts in chunks:
            self.rows += sum(1 for t in texts if search(t))
            yield rows, texts


def _pairs(pool: Any, chunks: Iterator[tuple[list[list[str]], list[str]]],
           ) -> Iterator[tuple[list[list[str]], list[list[str]]]]:
    """Results in input order, with a bounded number of chunks in flight (any file size)."""
    window: list[tuple[list[list[str]], Any]] = []
    for rows, texts in chunks:
        window.append((rows, pool.apply_async(_geocode_chunk, (texts,))))
        if len(window) >= 32:
            r, fut = window.pop(0)
            yield r, fut.get()
    for r, fut in window:
        yield r, fut.get()


def _write(results: Iterator[tuple[list[list[str]], list[list[str]]]], writer: Any, bar: Progress, task: Any,
           fin: Any, size: int) -> tuple[int, int]:
    """Rows written and rows that matched something."""
    n = matched = 0
    for rows, outs in results:
        for row, out in zip(rows, outs, strict=True):
            writer.writerow(neutralise_row([*row, *out]))  # input cells echoed: never as formulas
            matched += out[1] != "none"
        n += len(rows)
        bar.update(task, completed=n)
    return n, matched


def geocode(
    input_csv: Annotated[str | None, typer.Argument(help="CSV file with an address column.")] = None,
    output: Annotated[str | None, typer.Option("-o", "--output", help="Output CSV (default stdout).")] = None,
    column: Annotated[str, typer.Option("--column", help="Name of the address column.")] = "address",
    db: DbOption = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: all cores).")] = None,
    query: Annotated[str | None, typer.Option("--query", help="Geocode one address.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON (with --query).")] = False,
    limit: Annotated[int, typer.Option("--limit", help="Candidates to print (with --query).")] = 5,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="The input file's encoding (default: detected — UTF-8 with or without BOM, UTF-16, "
                           "Windows-1256).")] = None,
) -> None:
    """Geocode addresses: one with --query, or every row of a CSV file into another (stdout by default).

    Exit 0 when every address matched something, 1 when some matched nothing.
    """
    if (query is None) == (input_csv is None):
        fail(message("cli.geocode.no_input"), code=2)
    if input_csv is not None and not Path(input_csv).is_file():
        fail(message("cli.file.missing", path=str(input_csv)), code=2)
    reg = open_registry(db)
    gc = reg.geocoder
    if query is not None:
        res = gc.geocode(query, limit=limit)
        if json_out:
            print_json(res.to_dict())
        else:
            for c in res.candidates:
                sys.stdout.write(f"{c.level}\t{c.postcode or ''}\t{c.confidence:.3f}\t{c.address}\n")
            if not res.candidates:
                sys.stdout.write(f"none\t{res.reason}\n")
        if not res.candidates:
            raise typer.Exit(1)
        return
    assert input_csv is not None
    t0, c0 = time.perf_counter(), _cpu_seconds()
    try:
        run = geocode_file(gc, input_csv, output, column=column, workers=workers, progress=sys.stderr.isatty(),
                           encoding=encoding)
    except ValueError as exc:  # no such column, an empty file, a wrong --encoding
        fail(reason(exc), code=2)
    except OSError as exc:
        fail(reason(exc))
    n = run.rows
    if n and not run.persian_rows:
        # Every row unreadable as Persian: almost always a file in another encoding; the output is useless.
        if output is not None:
            Path(output).unlink(missing_ok=True)
        problem = message("cli.geocode.no_persian_rows", path=str(input_csv), column=column, encoding=run.encoding,
                          choices=ENCODING_CHOICES)
        fail(message("cli.geocode.nothing_written", problem=problem) if output is not None else problem, code=2)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    done = message("cli.geocode.file_done", rows=n, encoding=run.encoding,
                   output=str(output) if output else message("cli.stdout"), seconds=wall, unmatched=run.unmatched,
                   rate=n / max(wall, 1e-9), cpu_rate=n / max(cpu, 1e-9))
    sys.stderr.write(shown(done) + "\n")
    if run.unmatched:
        raise typer.Exit(1)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished workers (the machine may be shared: wall time misleads)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def register(app: typer.Typer) -> None:
    """Attach the geocode command to the main app."""
    app.command()(geocode)
