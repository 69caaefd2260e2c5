"""Entry point of the `jinef` command; each sub-command lives in its own module."""

from __future__ import annotations

import typer

from jinef.cli import (
    audit,
    audit_log,
    batch,
    certificate,
    dashboard,
    data_cmds,
    geocode,
    import_cmd,
    index_cmd,
    keys,
    match_file,
    parse,
    postcodes,
    registry_cmds,
    reverse,
    rollback_cmd,
    serve,
    units,
    verify,
)

app = typer.Typer(
    help="Jinef: Iran's national geocoded address file (GNAF) — registry, geocoder, verification hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for module in (postcodes, registry_cmds, import_cmd, index_cmd, data_cmds, parse, geocode, reverse, serve, keys,
               audit_log, audit, verify, units, rollback_cmd, certificate, batch, match_file):
    module.register(app)
dashboard.register(app)


if __name__ == "__main__":
    app()
