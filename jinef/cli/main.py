"""Entry point of the `jinef` command; each sub-command lives in its own module."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from jinef.cli import (
    audit,
    audit_log,
    batch,
    certificate,
    dashboard,
    data_cmds,
    example,
    geocode,
    import_cmd,
    index_cmd,
    keys,
    lookup,
    match_file,
    parse,
    postcodes,
    registry_cmds,
    reverse,
    rollback_cmd,
    serve,
    settings_cmd,
    units,
    verify,
    verify_flow,
)
from jinef.cli.language import LangOption
from jinef.cli.settings_cmd import ConfigOption, use_config

app = typer.Typer(
    help="Jinef: Iran's national geocoded address file (GNAF) — registry, geocoder, verification hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (postcodes, registry_cmds, lookup, example, import_cmd, index_cmd, data_cmds, parse, geocode, reverse,
               serve, keys, audit_log, audit, verify, verify_flow, units, rollback_cmd, certificate, batch, match_file):
    module.register(app)
dashboard.register(app)
settings_cmd.register(app)  # `jinef settings`


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"jinef {version('jinef')}")
        raise typer.Exit()


@app.callback()
def main(
    lang: LangOption = None,
    config: ConfigOption = None,
    _version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                           help="Print the installed version and exit.")] = False,
) -> None:
    """Jinef: Iran's national geocoded address file (GNAF) — registry, geocoder, verification hub."""
    use_config(config)


if __name__ == "__main__":
    app()
