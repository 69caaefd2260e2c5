"""`jinef --config FILE` (the TOML settings file, for every command) and `jinef settings` (the values in force)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from jinef.cli.language import shown
from jinef.cli.output import fail, headings, print_json, reason
from jinef.common.messages import message
from jinef.common.settings import (
    CONFIG_VARIABLE,
    FIELDS,
    Secret,
    SettingsError,
    config_path,
    export_file_settings,
    read_config_file,
    settings,
    variable,
)
from jinef.common.settings_reference import reference_markdown

_FROM_FILE: set[str] = set()  # settings this process took from the file (then put in its environment)


ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help=f"A TOML file of settings (as ${CONFIG_VARIABLE}); the environment overrides it. See "
                     "docs/configuration.md.")]


def use_config(config: Path | None) -> None:
    """Before any command: take ``--config`` (else ``$JINEF_CONFIG``), check every setting, and put the file's
    values in the environment (exit 2 naming a bad one)."""
    if config is not None:
        os.environ[CONFIG_VARIABLE] = str(config.resolve())
    try:
        # Checked before any command runs; the file's values then reach options read from the environment and
        # the service's workers.
        _FROM_FILE.update(export_file_settings())
        settings()
    except SettingsError as exc:
        fail(reason(exc), code=2)


def _source(name: str, from_file: set[str]) -> str:
    if name in _FROM_FILE:
        return "file"
    if os.environ.get(variable(name)):
        return "environment"
    return "file" if name in from_file else "default"


def _shown(value: Any) -> Any:
    if isinstance(value, Secret):
        return "***"  # set, never shown
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def show(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the reference (docs/configuration.md) "
                                                              "instead of the values.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Every setting in force: its value (secrets hidden), variable and where it came from."""
    if markdown:
        typer.echo(reference_markdown(), nl=False)
        return
    current = settings()
    path = config_path()
    from_file = set(read_config_file(path)) if path is not None else set()
    rows = [{"name": name, "variable": variable(name), "value": _shown(getattr(current, name)),
             "source": _source(name, from_file)} for name in FIELDS]
    if json_out:
        print_json(rows)
        return
    table = Table(*headings("setting", "variable", "value", "from"))
    for row in rows:
        value = row["value"]
        source = shown(message(f"cli.settings.source.{row['source']}"))
        table.add_row(row["name"], row["variable"], "" if value is None else str(value), source)
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Attach `jinef settings` (``--config`` is one of the main callback's options: :func:`use_config`)."""
    app.command("settings")(show)
