"""`jinef validate`: postcode rules from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from jinef.cli.language import current
from jinef.cli.output import headings, print_json, stdout_console
from jinef.common.messages import message
from jinef.model import postcode as pc


def validate(
    postcodes: Annotated[list[str], typer.Argument(help="Postcodes in any digit form.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Check postcodes against the national rules and say which rule each one breaks."""
    results = [pc.validate(p) for p in postcodes]
    if json_out:
        print_json([r.as_dict() for r in results])
    else:
        language = current()
        table = Table(*headings("input", "postcode", "valid", "reasons"))
        for r in results:
            valid = message("cli.validate.yes" if r.valid else "cli.validate.no").text(language)
            reasons = message("cli.list", items=[pc.rule_message(x) for x in r.reasons]).text(language)
            table.add_row(r.input, r.postcode or "", valid, reasons)
        stdout_console().print(table)
    if not all(r.valid for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach the postcode commands to the main app."""
    app.command()(validate)
