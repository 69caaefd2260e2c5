"""`jinef data fetch` and `jinef data report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jinef.cli.language import shown
from jinef.cli.options import JsonOption
from jinef.cli.output import console, fail, print_json, reason, stdout_console
from jinef.common.messages import message
from jinef.write.refdata.boundaries import load_boundaries
from jinef.write.refdata.divisions import load_divisions
from jinef.write.refdata.fetch import FetchError, fetch
from jinef.write.refdata.paths import DataMissingError

data_app = typer.Typer(help="Reference data: download it, and report how its sources join.", no_args_is_help=True)


@data_app.command("fetch")
def fetch_cmd(
    dest: Annotated[Path, typer.Option("--dest", help="Folder to write (then set JINEF_DATA to it).")] = Path(
        "data/iran"),
) -> None:
    """Download the divisions, boundaries, census and Tehran files from their public repositories."""
    try:
        files = fetch(dest, progress=lambda name: console.print(shown(message("cli.fetch.file", name=name)),
                                                                highlight=False, markup=False))
    except FetchError as exc:
        fail(reason(exc))
    console.print(shown(message("cli.fetch.done", count=len(files), dest=str(dest))), markup=False)


@data_app.command("report")
def report_cmd(json_out: JsonOption = False) -> None:
    """Every join between the sources that failed or was repaired."""
    try:
        div = load_divisions()
        bnd = load_boundaries(div)
    except DataMissingError as exc:
        fail(reason(exc))
    issues = div.report.as_list() + bnd.report.as_list()
    if json_out:
        print_json(issues)
        return
    t = Table("source", "key", "problem", "action")
    for i in issues:
        t.add_row(i["source"], i["key"], i["problem"], i["action"])
    stdout_console().print(t)
    console.print(shown(message("cli.data.report", issues=len(issues), counties=len(div.counties),
                                with_polygon=len(bnd.counties))), markup=False)


def register(app: typer.Typer) -> None:
    """Attach the `data` group."""
    app.add_typer(data_app, name="data")
