"""`jinef parse`: show how an address string is read into the model's levels."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from jinef.cli.output import print_json, stdout_console
from jinef.text.parser import parse_address


def parse(
    text: Annotated[str, typer.Argument(help="An address in Persian, as people write it.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the parse as JSON.")] = False,
) -> None:
    """Tag an address with province ... unit, postcode, landmarks, and say what was corrected."""
    parsed = parse_address(text)
    data = parsed.to_dict()
    if json_out:
        print_json(data)
        return
    table = Table("level", "value", show_header=False)
    for key, value in data.items():
        if key == "thoroughfares":
            for t in parsed.thoroughfares:
                table.add_row("thoroughfare", t.text)
        elif key == "corrections":
            for c in parsed.corrections:
                table.add_row(f"correction ({c.kind})", f"{c.original} → {c.result}")
        elif isinstance(value, list):
            for item in value:
                table.add_row(key.rstrip("s"), str(item))
        elif value is not None and value != "":
            table.add_row(key, str(value))
    stdout_console().print(table)


def register(app: typer.Typer) -> None:
    """Attach the parse command to the main app."""
    app.command()(parse)
