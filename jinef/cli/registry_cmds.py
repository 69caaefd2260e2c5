"""`jinef build`, `jinef lookup`, `jinef export`, `jinef stats`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, print_json
from jinef.common.config import registry_location
from jinef.common.messages import message
from jinef.model import postcode as pc
from jinef.read.registry.registry import Registry
from jinef.write.compile import image_step
from jinef.write.export.lines import write_registry_export
from jinef.write.ingest.generate import DEFAULT_SEED, DEFAULT_UNITS, generate
from jinef.write.refdata.paths import DataMissingError
from jinef.write.store.base import RegistryNotFoundError, RegistryReader
from jinef.write.store.open import describe_location, open_reader, open_writer
from jinef.write.store.replace_guard import ReplaceRefused, check_build_replaces


def progress_bar(total: int | None, label: str) -> Progress:
    """A Rich progress bar on stderr."""
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False, disable=not console.is_terminal)


def open_registry(db: str | None) -> Registry:
    """Open the registry's read image or exit with a clear message."""
    try:
        return Registry.open(db)
    except RegistryNotFoundError as exc:
        fail(f"{exc}; or, if there is no registry yet, build one with `jinef build` or `jinef import`")


def open_store(db: str | None) -> RegistryReader:
    """Open the stored registry or exit with a clear message."""
    try:
        return open_reader(registry_location(db))
    except RegistryNotFoundError as exc:
        fail(str(exc))


def build(
    units: Annotated[int, typer.Option("--units", min=0, help="Number of units (postcodes).")] = DEFAULT_UNITS,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: same seed, same registry.")] = DEFAULT_SEED,
    db: DbOption = None,
    force: Annotated[bool, typer.Option("--force", help="Replace even a registry imported from records.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Generate a realistic national registry on the real divisions (replaces the registry atomically)."""
    path = registry_location(db)
    try:
        check_build_replaces(path, force)
        writer = open_writer(path, mode="replace")
    except (RegistryNotFoundError, ReplaceRefused) as exc:  # e.g. no PostgreSQL server to talk to
        fail(str(exc))
    try:
        with progress_bar(units, "building") as bar:
            task = bar.add_task("units", total=units)
            summary = generate(writer, n_units=units, seed=seed, progress=lambda n: bar.advance(task, n))
        step = image_step(path)
        writer.commit(prepare=step)  # the read image is compiled before the new registry goes live
        compiled = step.publish()
    except DataMissingError as exc:
        writer.abort()
        fail(str(exc))
    except BaseException:
        writer.abort()
        raise
    result = {"db": describe_location(path), "units": summary.units, "buildings": summary.buildings,
              "thoroughfares": summary.thoroughfares, "localities": summary.localities,
              "seconds": round(summary.seconds, 2), "units_per_second": round(summary.units / summary.seconds)
              if summary.seconds else None, "image_seconds": round(compiled.seconds, 2), "image": str(compiled.path)}
    if json_out:
        print_json(result)
    else:
        console.print(f"built {summary.units:,} units in {summary.seconds:.1f} s into {describe_location(path)}; "
                      f"read image compiled in {compiled.seconds:.1f} s")


def lookup(
    postcodes: Annotated[list[str] | None, typer.Argument(help="Postcodes in any digit form.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
    file: Annotated[Path | None, typer.Option("--file", help="A CSV with a postcode column: each row looked up "
                                                             "into -o (its columns kept, the answer appended).")]
    = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="With --file: the output CSV.")] = None,
    column: Annotated[str, typer.Option("--column", help="With --file: the postcode column.")] = "postcode",
) -> None:
    """Look postcodes up: the structured and the standard address of each (or every row of a CSV file)."""
    if file is not None:
        _lookup_file(file, output, column, db)
        return
    if not postcodes:
        fail("give postcodes, or --file IN.csv -o OUT.csv", code=2)
    bad = [v for v in (pc.validate(p) for p in postcodes) if not v.valid]
    if bad:
        fail(message("cli.list", items=[v.error() for v in bad]), code=2)
    with open_registry(db) as reg:
        found = reg.lookup_many(postcodes)
    if json_out:
        print_json([a.export_row() if a else None for a in found])
        return
    out = Console()
    for p, a in zip(postcodes, found, strict=True):
        out.print(f"{p}: {a.standard_address if a else 'not found'}")
    if not all(found):
        raise typer.Exit(1)


def _lookup_file(file: Path, output: Path | None, column: str, db: str | None) -> None:
    from jinef.cli.lookup_file import lookup_csv
    from jinef.common.input_encoding import detect_encoding

    if output is None:
        fail("--file needs -o OUT.csv", code=2)
    with open_registry(db) as reg:
        try:
            with open(file, newline="", encoding=detect_encoding(file)) as src, \
                    open(output, "w", newline="", encoding="utf-8") as dst:
                counts = lookup_csv(reg, src, dst, column)
        except (ValueError, OSError, UnicodeDecodeError) as exc:
            fail(f"{file}: {exc}")
    console.print(f"looked up {sum(counts.values()):,} rows into {output}: {counts['found']:,} found, "
                  f"{counts['not_found']:,} not found, {counts['invalid']:,} invalid", highlight=False)


def export(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file (default stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    db: DbOption = None,
) -> None:
    """Write every active unit with the export columns (UTF-8)."""
    if fmt not in ("csv", "jsonl"):
        fail(f"unknown --format {fmt!r}: use csv or jsonl", code=2)
    reader = open_store(db)
    try:
        total = sum(s.active_units for s in reader.stats())
        fh = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            with progress_bar(total, "exporting") as bar:
                task = bar.add_task("units", total=total)
                n = write_registry_export(reader, fh, fmt, lambda k: bar.advance(task, k))
        finally:
            if output:
                fh.close()
    finally:
        reader.close()
    console.print(f"exported {n:,} units")


def stats(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Per-province counts of units, buildings, thoroughfares, localities and the geocoded share."""
    reader = open_store(db)
    try:
        rows = reader.stats()
    finally:
        reader.close()
    if json_out:
        print_json([r.as_dict() for r in rows])
        return
    t = Table("code", "province", "units", "buildings", "thoroughfares", "localities", "geocoded")
    for r in rows:
        t.add_row(r.province_code, r.province, f"{r.units:,}", f"{r.buildings:,}", f"{r.thoroughfares:,}",
                  f"{r.localities:,}", f"{r.geocoded_share:.1%}")
    Console().print(t)


def register(app: typer.Typer) -> None:
    """Attach the registry commands."""
    for fn in (build, lookup, export):  # `jinef stats` is a group of its own: jinef/cli/dashboard.py
        app.command()(fn)
