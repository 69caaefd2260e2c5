"""`jinef lookup`: postcodes → addresses, every input answered (found, not found, or the rules it breaks)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, print_json, reason, stdout_console
from jinef.cli.registry_cmds import open_registry
from jinef.common.messages import message
from jinef.model import postcode as pc
from jinef.model.address import Address


def address_json(a: Address) -> dict[str, object]:
    """The export's columns, typed as the HTTP API types them: floor an integer, lat and lon numbers (null when
    absent), the rest text."""
    row: dict[str, object] = dict(a.export_row())
    row["floor"] = a.floor
    row["lat"] = a.lat
    row["lon"] = a.lon
    return row


def lookup(
    postcodes: Annotated[list[str] | None, typer.Argument(help="Postcodes in any digit form.")] = None,
    db: DbOption = None,
    json_out: JsonOption = False,
    file: Annotated[Path | None, typer.Option("--file", help="A CSV with a postcode column: each row looked up "
                                                             "(its columns kept, the answer appended).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="With --file: the output CSV (default "
                                                                       "stdout).")] = None,
    column: Annotated[str, typer.Option("--column", help="With --file: the postcode column.")] = "postcode",
) -> None:
    """Look postcodes up: the structured and the standard address of each (or every row of a CSV file).

    Exit 0 when every postcode was found, 1 when some were not found or broke a rule (the others still printed).
    """
    if file is not None:
        if postcodes:
            fail(message("cli.lookup.both_inputs"), code=2)
        _lookup_file(file, output, column, db)
        return
    if not postcodes:
        fail(message("cli.lookup.no_input"), code=2)
    checks = [pc.validate(p) for p in postcodes]
    valid = [v.postcode for v in checks if v.postcode is not None]
    with open_registry(db) as reg:
        answers = iter(reg.lookup_many(valid))
    found = [next(answers) if v.postcode is not None else None for v in checks]
    invalid = [v for v in checks if v.postcode is None]
    missing = [v.input for v, a in zip(checks, found, strict=True) if v.postcode is not None and a is None]
    if json_out:
        print_json([address_json(a) if a else None for a in found])
        # The array keeps one entry per input (null when unanswered); why an entry is null goes to stderr.
        if missing:
            console.print(f"{shown(message('cli.lookup.not_found'))}: {', '.join(missing)}", highlight=False,
                          markup=False)
        for v in invalid:
            console.print(shown(v.error()), highlight=False, markup=False)
    else:
        out = stdout_console()
        for v, a in zip(checks, found, strict=True):
            answer = a.standard_address if a else shown(
                message("cli.lookup.not_found") if v.postcode else
                message("cli.lookup.invalid", reasons=[pc.rule_message(r) for r in v.reasons]))
            out.print(f"{v.input}: {answer}", highlight=False, markup=False)
    if missing or invalid:
        raise typer.Exit(1)


def _lookup_file(file: Path, output: Path | None, column: str, db: str | None) -> None:
    from jinef.cli.lookup_file import lookup_csv
    from jinef.common.input_encoding import detect_encoding

    if not file.is_file():
        fail(message("cli.file.missing", path=str(file)), code=2)
    with open_registry(db) as reg:
        try:
            with open(file, newline="", encoding=detect_encoding(file)) as src:
                dst = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
                try:
                    counts = lookup_csv(reg, src, dst, column)
                finally:
                    if output:
                        dst.close()
        except (ValueError, UnicodeDecodeError) as exc:
            fail(message("cli.file.problem", path=str(file), problem=reason(exc)), code=2)
        except OSError as exc:
            fail(f"{file}: {exc}")
    console.print(shown(message("cli.lookup.file_done", rows=sum(counts.values()),
                                output=str(output) if output else message("cli.stdout"), found=counts["found"],
                                not_found=counts["not_found"], invalid=counts["invalid"])),
                  highlight=False, markup=False)
    if counts["not_found"] or counts["invalid"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach `jinef lookup`."""
    app.command()(lookup)
