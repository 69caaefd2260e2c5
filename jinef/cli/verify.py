"""`jinef verify …` (national codes, key rotation, expiry, alerts) and `jinef outbox`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from jinef.cli.language import shown
from jinef.cli.output import fail, headings, print_json, stdout_console
from jinef.common.config import verify_target
from jinef.common.messages import Message, message
from jinef.common.settings import settings
from jinef.read.verify import national_code as ncode
from jinef.read.verify.engines import describe_target, open_verify_store, verify_store_exists
from jinef.read.verify.errors import KeyRingError, VerifyError
from jinef.read.verify.keys import ENV_VAR, KeyRing, load_ring, parse_ring
from jinef.read.verify.service import VerifyHub, open_outbox, rotate_key

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="JINEF_DB",
        help="The registry (a file or a postgresql:// URL); the hub's tables are in <stem>.verify.sqlite beside a "
        "file, in schema <schema>_verify of a PostgreSQL registry's database.",
    ),
]
VerifyDbOption = Annotated[
    str | None,
    typer.Option("--verify-db", help="The hub's database, a file or a postgresql:// URL (default: the registry's)."),
]
KeyOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help=f"The key ring file (default: ${ENV_VAR}, else verify.key beside the hub's database).",
    ),
]
DEFAULT_DB = str(Path("var/registry.sqlite"))

verify_app = typer.Typer(
    help="Address verification hub: national codes, keys, expiry, alerts.", no_args_is_help=True
)


def refusal(exc: VerifyError) -> str | Message:
    """What the hub refused, from the catalogue when it has this error's text (else the error's own words)."""
    if isinstance(exc, KeyRingError):
        return exc.problem  # the operator is told exactly what is wrong with the ring, not only that it does not fit
    text = exc.text()
    return text if text.id == exc.message_id() else exc.message


def _existing_db(db: str, verify_db: str | None = None) -> str | Path:
    """The hub's database for registry ``db`` (or the explicit one), which must exist."""
    target = verify_target(db, verify_db)
    if not verify_store_exists(target):
        fail(message("cli.verify.no_database", where=describe_target(target)))
    return target


@verify_app.command("code")
def check_codes(
    codes: Annotated[list[str], typer.Argument(help="National codes in any digit form.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Check national codes against the rules and say which rule each one breaks."""
    results = [ncode.validate(c) for c in codes]
    if json_out:
        print_json([{"input": c, **r.as_dict()} for c, r in zip(codes, results, strict=True)])
    else:
        table = Table(*headings("input", "valid", "reasons"))
        for c, r in zip(codes, results, strict=True):
            valid = message("cli.validate.yes" if r.valid else "cli.validate.no")
            rules = [message(f"national_code.rule.{rule}") for rule in r.reasons]
            table.add_row(c, shown(valid), shown(message("cli.list", items=rules)))
        stdout_console().print(table)
    if not all(r.valid for r in results):
        raise typer.Exit(1)


@verify_app.command("rotate-key")
def rotate_key_cmd(
    db: DbOption = DEFAULT_DB, key_file: KeyOption = None, verify_db: VerifyDbOption = None
) -> None:
    """Re-key every stored hash under a new key, in one transaction (matches keep working)."""
    path = _existing_db(db, verify_db)
    store = open_verify_store(path)
    try:
        ring = load_ring(key_file, db_path=path, create=False)
        result, ring = rotate_key(store, ring)
    except VerifyError as exc:
        fail(refusal(exc))
    finally:
        store.close()
    where = ring.path if ring.path is not None else f"${ENV_VAR}"
    typer.echo(shown(message("cli.verify.rekeyed", n=result.rehashed, from_version=result.from_version,
                             to_version=result.to_version, where=str(where))))


@verify_app.command("new-key")
def new_key() -> None:
    """Print the ring from $JINEF_VERIFY_KEY with one new key appended (install it, then rotate-key)."""
    configured = settings().verify_key
    current = configured.reveal() if configured is not None else None
    try:
        ring = parse_ring(current) if current else KeyRing(())
    except VerifyError as exc:
        fail(refusal(exc))
    typer.echo(ring.with_new_key().to_text().strip().replace("\n", ";"))


@verify_app.command("expire")
def expire(db: DbOption = DEFAULT_DB, key_file: KeyOption = None, verify_db: VerifyDbOption = None) -> None:
    """Close every open request whose one-time code has expired."""
    try:
        # Expiry needs no registry answer: the status callable is never asked.
        with VerifyHub.open(_existing_db(db, verify_db), lambda _postcode: None, key_path=key_file) as hub:
            n = hub.workflow.expire_due()
    except VerifyError as exc:
        fail(refusal(exc))
    typer.echo(shown(message("cli.verify.expired", n=n)))


@verify_app.command("alerts")
def alerts(
    db: DbOption = DEFAULT_DB,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verify_db: VerifyDbOption = None,
) -> None:
    """List enumeration alerts, newest first."""
    store = open_verify_store(_existing_db(db, verify_db))
    try:
        found = store.alerts()
    finally:
        store.close()
    rows = [
        {
            "ts": a.ts.isoformat(),
            "org": a.org,
            "orgs": list(a.orgs),  # every organisation involved (several for an alert across organisations)
            "kind": a.kind,
            "subject": a.subject,
            "distinct": a.distinct_count,
            "window_seconds": a.window_seconds,
            "blocked_until": a.blocked_until.isoformat(),
        }
        for a in found
    ]
    if json_out:
        print_json(rows)
        return
    table = Table(*headings("time", "organisations", "kind", "subject", "distinct", "blocked_until"))
    for a, r in zip(found, rows, strict=True):
        table.add_row(
            str(r["ts"]),
            ", ".join(a.orgs),
            str(r["kind"]),
            str(r["subject"]),
            str(r["distinct"]),
            str(r["blocked_until"]),
        )
    stdout_console().print(table)


def outbox(
    db: DbOption = DEFAULT_DB,
    ref: Annotated[
        str | None, typer.Option("--ref", help="Only messages of this request or challenge.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many of the newest messages.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    verify_db: VerifyDbOption = None,
    key_file: KeyOption = None,
) -> None:
    """List SMS written by the development gateway (recipients masked, texts opened with the key ring)."""
    path = _existing_db(db, verify_db)
    store = open_verify_store(path)
    try:
        ring = load_ring(key_file, db_path=path, create=False)
        messages = open_outbox(store.outbox(limit, ref), ring)
    except VerifyError as exc:
        fail(refusal(exc))
    finally:
        store.close()
    rows = [
        {
            "id": m.id,
            "time": m.created_at.isoformat(),
            "to": m.recipient,
            "kind": m.kind,
            "ref": m.ref,
            "body": m.body,
        }
        for m in messages
    ]
    if json_out:
        print_json(rows)
        return
    # Not a table: a table cuts ids to fit the window, and a Persian text is read best alone on its line.
    for r in rows:
        typer.echo(shown(message("cli.verify.outbox_line", id=r["id"], time=r["time"], to=r["to"], kind=r["kind"],
                                 ref=r["ref"])))
        typer.echo(f"    {r['body']}")


def register(app: typer.Typer) -> None:
    """Attach `jinef verify …` and `jinef outbox` to the main app."""
    app.add_typer(verify_app, name="verify")
    app.command("outbox")(outbox)
