"""Entry point of the `jinef` command; each sub-command lives in its own module."""

from __future__ import annotations

import typer

from jinef.cli import audit, postcodes, verify

app = typer.Typer(
    help="Jinef: Iran's national geocoded address file (GNAF) — registry, geocoder, verification hub.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
postcodes.register(app)
verify.register(app)
audit.register(app)


if __name__ == "__main__":
    app()
