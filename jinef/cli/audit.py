"""`jinef audit …`: check the verification hub's tamper-evident audit chain."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated, NoReturn

import psycopg
import typer

from jinef.cli.audit_log import audit_app
from jinef.cli.language import shown
from jinef.cli.output import fail, print_json, reason
from jinef.common.config import verify_target
from jinef.common.messages import Message, message
from jinef.read.verify.audit import verify_store
from jinef.read.verify.engines import describe_target, open_verify_store, verify_store_exists
from jinef.read.verify.errors import VerifyError

DbOption = Annotated[
    str,
    typer.Option(
        "--db", envvar="JINEF_DB", help="The registry (a file or a postgresql:// URL); the hub's audit is in "
        "<stem>.verify.sqlite beside a file, in schema <schema>_verify of a PostgreSQL registry's database."
    ),
]


@audit_app.command("verify")
def verify(
    db: DbOption = str(Path("var/registry.sqlite")),
    expect_head: Annotated[
        str | None,
        typer.Option(
            "--expect-head", help="A head published earlier, '<seq>:<hash>': it must still be there."
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verify_db: Annotated[
        str | None, typer.Option("--verify-db", help="The hub's database, a file or a postgresql:// URL (default: "
                                                     "the registry's).")
    ] = None,
) -> None:
    """Check the hash chain; name the first edited, deleted, reordered, unreadable or missing record."""

    def refuse(problem: str | Message) -> NoReturn:
        # Under --json every outcome is JSON on stdout, the failures too, in English (a monitor parses it).
        if json_out:
            print_json({"ok": False, "error": str(problem), "issue": None})
            raise typer.Exit(1)
        fail(problem)

    target = verify_target(db, verify_db)
    where = describe_target(target)
    if not verify_store_exists(target):
        refuse(message("cli.verify.no_database", where=where))
    try:
        store = open_verify_store(target)
    except (sqlite3.Error, psycopg.Error, VerifyError) as exc:
        refuse(message("cli.audit.cannot_open", where=where, detail=str(exc)))
    try:
        report = verify_store(store, expect_head)
    except ValueError as exc:  # a malformed --expect-head
        refuse(reason(exc))
    except (sqlite3.Error, psycopg.Error) as exc:
        refuse(message("cli.audit.cannot_read", where=where, detail=str(exc)))
    finally:
        store.close()
    if json_out:
        print_json(report.as_dict())
    elif report.issue is None:
        typer.echo(shown(message("cli.audit.intact", records=report.records,
                                 head=f"{report.head_seq}:{report.head_hash}")))
    else:
        typer.echo(shown(message("cli.audit.broken", seq=report.issue.seq, kind=report.issue.kind,
                                 problem=report.issue.text)))
    if report.issue is not None:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """`jinef audit verify` joins the `audit` group of :mod:`jinef.cli.audit_log` (registered there)."""
