"""`jinef import`: load a real address file with the export's columns."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, print_json, reason
from jinef.cli.registry_cmds import progress_bar
from jinef.common.config import max_shrink, registry_location
from jinef.common.input_encoding import check_encoding
from jinef.common.messages import message
from jinef.write.compile import image_step
from jinef.write.ingest.importer import ImportError_, ImportRefused, import_file, write_rejects
from jinef.write.refdata.boundaries import load_boundaries
from jinef.write.refdata.divisions import load_divisions
from jinef.write.refdata.paths import DataMissingError
from jinef.write.store.open import describe_location, open_writer
from jinef.write.store.replace_guard import ShrinkGuard

FORMATS_BY_EXTENSION = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def import_(
    file: Annotated[Path, typer.Argument(help="CSV or JSON Lines file with exactly the export's columns.")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv or jsonl (default: from the extension: "
                                                             ".csv is csv, .jsonl or .ndjson jsonl).")] = None,
    db: DbOption = None,
    skip_bad: Annotated[
        Path | None, typer.Option("--skip-bad", help="Load the good rows; write rejected rows and reasons here.")
    ] = None,
    append: Annotated[bool, typer.Option("--append", help="Add the file's units instead of replacing.")] = False,
    encoding: Annotated[str | None, typer.Option("--encoding", help="The file's encoding (default: detected; "
                                                                    "utf-8, utf-16, cp1256).")] = None,
    max_shrink_: Annotated[float | None, typer.Option(
        "--max-shrink", help="Refuse a replace that leaves the registry smaller by more than this share "
                             "(default JINEF_MAX_SHRINK, else 0.1).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace even with an empty file or a much smaller "
                                                        "registry.")] = False,
    json_out: JsonOption = False,
) -> None:
    """Build the registry from an address file; a bad row stops it and the registry stays intact."""
    if fmt not in (None, "csv", "jsonl"):
        fail(message("cli.format.unknown", value=fmt, choices=("csv", "jsonl")), code=2)
    if not file.is_file():
        fail(message("cli.file.missing", path=str(file)), code=2)
    fmt = fmt or FORMATS_BY_EXTENSION.get(file.suffix.lower())
    if fmt is None:
        fail(message("cli.import.format_from_extension", path=str(file),
                     extension=file.suffix or message("cli.import.no_extension")), code=2)
    try:
        enc = check_encoding(encoding) if encoding else None
        shrink = max_shrink(max_shrink_)
    except ValueError as exc:
        fail(reason(exc), code=2)
    path = registry_location(db)
    try:
        guard = None if append else ShrinkGuard.of(path, shrink, force)
        divisions = load_divisions()
        boundaries = load_boundaries(divisions)
        writer = open_writer(path, mode="append" if append else "replace")
    except (DataMissingError, FileNotFoundError) as exc:
        fail(reason(exc))
    try:
        with progress_bar(None, "importing") as bar:
            task = bar.add_task("rows", total=None)
            summary = import_file(file, writer, divisions, boundaries, fmt=fmt,  # type: ignore[arg-type]
                                  append=append, skip_bad=skip_bad is not None, encoding=enc, guard=guard,
                                  progress=lambda n: bar.advance(task, n))
        step = image_step(path)
        writer.commit(prepare=step)  # the read image is compiled before the imported registry goes live
        step.publish()
    except ImportRefused as exc:
        writer.abort()
        if skip_bad is not None:
            write_rejects(exc.summary.rejects, skip_bad)
        if exc.summary.rejected:
            fail(message("cli.import.refused_with_rejects", path=str(file), problem=exc.text,
                         rejected=exc.summary.rejected, rejects=str(skip_bad)), code=1)
        fail(message("cli.import.refused", path=str(file), problem=exc.text), code=1)
    except ImportError_ as exc:
        writer.abort()
        fail(message("cli.import.nothing_imported", problem=exc.text), code=1)
    except (UnicodeError, OSError) as exc:
        writer.abort()
        fail(message("cli.import.unreadable", path=str(file), detail=str(exc)), code=1)
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
        where = describe_location(path)
        done = message("cli.import.done", loaded=summary.loaded, rows=summary.rows, where=where) if skip_bad is None \
            else message("cli.import.done_with_rejects", loaded=summary.loaded, rows=summary.rows, where=where,
                         rejected=summary.rejected, rejects=str(skip_bad))
        console.print(escape(shown(done)))


def register(app: typer.Typer) -> None:
    """Attach `jinef import`."""
    app.command("import")(import_)
