"""`jinef import`: load a real address file with the export's columns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, print_json
from jinef.cli.registry_cmds import progress_bar
from jinef.common.config import registry_location
from jinef.write.compile import image_step
from jinef.write.ingest.importer import ImportError_, import_file, write_rejects
from jinef.write.refdata.boundaries import load_boundaries
from jinef.write.refdata.divisions import load_divisions
from jinef.write.refdata.paths import DataMissingError
from jinef.write.store.open import describe_location, open_writer


def import_(
    file: Annotated[Path, typer.Argument(help="CSV or JSON Lines file with exactly the export's columns.")],
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
    db: DbOption = None,
    skip_bad: Annotated[
        Path | None, typer.Option("--skip-bad", help="Load the good rows; write rejected rows and reasons here.")
    ] = None,
    append: Annotated[bool, typer.Option("--append", help="Add the file's units instead of replacing.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Build the registry from an address file; a bad row stops it and the registry stays intact."""
    if fmt not in ("csv", "jsonl"):
        fail(f"unknown --format {fmt!r}: use csv or jsonl", code=2)
    if not file.is_file():
        fail(f"no such file: {file}", code=2)
    path = registry_location(db)
    try:
        divisions = load_divisions()
        boundaries = load_boundaries(divisions)
        writer = open_writer(path, mode="append" if append else "replace")
    except (DataMissingError, FileNotFoundError) as exc:
        fail(str(exc))
    try:
        with progress_bar(None, "importing") as bar:
            task = bar.add_task("rows", total=None)
            summary = import_file(file, writer, divisions, boundaries, fmt=fmt,  # type: ignore[arg-type]
                                  append=append, skip_bad=skip_bad is not None,
                                  progress=lambda n: bar.advance(task, n))
        step = image_step(path)
        writer.commit(prepare=step)  # the read image is compiled before the imported registry goes live
        step.publish()
    except ImportError_ as exc:
        writer.abort()
        fail(f"{exc} — nothing was imported; the registry is unchanged", code=1)
    except (UnicodeDecodeError, OSError) as exc:
        writer.abort()
        fail(f"{file}: cannot read ({exc}) — nothing was imported", code=1)
    except BaseException:
        writer.abort()
        raise
    if skip_bad is not None:
        write_rejects(summary.rejects, skip_bad)
    result = {"db": describe_location(path), "rows": summary.rows, "loaded": summary.loaded,
              "rejected": summary.rejected}
    if json_out:
        print_json(result)
    else:
        console.print(f"imported {summary.loaded:,} of {summary.rows:,} rows into {describe_location(path)}"
                      + (f"; {summary.rejected:,} rejected, see {skip_bad}" if skip_bad else ""))


def register(app: typer.Typer) -> None:
    """Attach `jinef import`."""
    app.command("import")(import_)
