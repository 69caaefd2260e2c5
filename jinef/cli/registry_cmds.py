"""`jinef build`, `jinef export`, `jinef stats`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, headings, print_json, reason, stdout_console
from jinef.common.config import registry_location
from jinef.common.messages import message
from jinef.image.folder import ImageMissingError
from jinef.read.registry.registry import Registry
from jinef.write.compile import image_step
from jinef.write.export.lines import write_registry_export
from jinef.write.ingest.generate import DEFAULT_SEED, DEFAULT_UNITS, generate
from jinef.write.refdata.paths import DataMissingError
from jinef.write.store.base import RegistryNotFoundError, RegistryReader
from jinef.write.store.open import describe_location, open_reader, open_writer
from jinef.write.store.replace_guard import ReplaceRefused, check_build_replaces


def progress_bar(total: int | None, label: str) -> Progress:
    """A Rich progress bar on stderr, named by the message ``cli.progress.<label>`` in the command's language."""
    name = escape(shown(message(f"cli.progress.{label}")))
    return Progress(TextColumn(name), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=False, disable=not console.is_terminal)


def open_registry(db: str | None) -> Registry:
    """Open the registry's read image or exit with a clear message."""
    try:
        return Registry.open(db)
    except RegistryNotFoundError as exc:
        if isinstance(exc.__cause__, ImageMissingError):
            fail(message("cli.registry.no_image", path=str(exc.__cause__.path)), code=2)
        fail(reason(exc), code=2)  # the image's own problem, and how to build a registry if there is none


def open_store(db: str | None) -> RegistryReader:
    """Open the stored registry or exit with a clear message."""
    target = registry_location(db)
    try:
        return open_reader(target)
    except RegistryNotFoundError as exc:
        if isinstance(target, Path) and not target.is_file():
            fail(message("cli.registry.missing", where=str(target)), code=2)
        fail(reason(exc), code=2)


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
        fail(reason(exc))
    try:
        with progress_bar(units, "building") as bar:
            task = bar.add_task("units", total=units)
            summary = generate(writer, n_units=units, seed=seed, progress=lambda n: bar.advance(task, n))
        step = image_step(path)
        writer.commit(prepare=step)  # the read image is compiled before the new registry goes live
        compiled = step.publish()
    except DataMissingError as exc:
        writer.abort()
        fail(reason(exc))
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
        console.print(shown(message("cli.build.done", units=summary.units, seconds=summary.seconds,
                                    where=describe_location(path), image_seconds=compiled.seconds)), markup=False)


def export(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file (default stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    db: DbOption = None,
) -> None:
    """Write every active unit with the export columns (UTF-8)."""
    if fmt not in ("csv", "jsonl"):
        fail(message("cli.format.unknown", value=fmt, choices=("csv", "jsonl")), code=2)
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
    console.print(shown(message("cli.export.done", n=n)), markup=False)


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
    t = Table(*headings("code", "province", "units", "buildings", "thoroughfares", "localities", "geocoded"))
    for r in rows:
        t.add_row(r.province_code, r.province, f"{r.units:,}", f"{r.buildings:,}", f"{r.thoroughfares:,}",
                  f"{r.localities:,}", f"{r.geocoded_share:.1%}")
    stdout_console().print(t)


def register(app: typer.Typer) -> None:
    """Attach the registry commands."""
    for fn in (build, export):  # `jinef stats` is a group of its own: jinef/cli/dashboard.py
        app.command()(fn)
