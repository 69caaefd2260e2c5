"""Options shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Registry: a SQLite file or a postgresql:// URL "
                              "(default: JINEF_DB, else ./var/registry.sqlite)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ServiceDbOption = Annotated[
    str | None,
    typer.Option("--service-db", help="Service database: a file or a postgresql://…?schema=… URL "
                                      "(default: the registry's)."),
]
VerifyDbOption = Annotated[
    str | None,
    typer.Option("--verify-db", help="The hub's database: a file or a postgresql://…?schema=… URL "
                                     "(default: the registry's)."),
]
