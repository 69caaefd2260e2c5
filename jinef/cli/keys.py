"""`jinef keys create|list|revoke`: organisations' API keys (stored hashed in the service database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from jinef.api.servicedb import KNOWN_SCOPES, ORG_TYPES, ServiceStore, open_store, parse_rate
from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import fail, headings, print_json, reason, stdout_console
from jinef.common.config import service_target
from jinef.common.messages import message

keys_app = typer.Typer(help="Organisations' API keys: create (shown once), list, revoke.", no_args_is_help=True)
ServiceDbOption = Annotated[str | None, typer.Option("--service-db", help="Service database: a file or a "
                                                    "postgresql:// URL (default: the registry's, see `jinef serve`).")]


def _store(db: str | None, service_db: str | None) -> ServiceStore:
    return open_store(service_target(db, service_db))


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ") if ts else ""


@keys_app.command("create")
def create(
    org: Annotated[str, typer.Option("--org", help="Organisation name (created if new).")],
    # Listed with spaces, so that the help wraps the list instead of cutting it short.
    scopes: Annotated[str, typer.Option("--scopes", help=f"Comma-separated, from: {', '.join(KNOWN_SCOPES)}; or "
                                                         "all (every scope: for development only).")] = "lookup",
    rate: Annotated[str | None, typer.Option("--rate", help="Organisation quota in items, e.g. 10/s, 600/min: a "
                                                            "call is one item, a batch one per row (default: "
                                                            "unchanged; unlimited for a new org).")] = None,
    province: Annotated[str | None, typer.Option("--province", help="Bind the key to one province (its code, e.g. "
                                                                    "23 for Tehran): a provincial office's staff act "
                                                                    "only there.")] = None,
    org_type: Annotated[str | None, typer.Option("--org-type", help=f"What the organisation is: "
                                                                    f"{', '.join(ORG_TYPES)} (the dashboard counts "
                                                                    "what is served per type).")] = None,
    db: DbOption = None,
    service_db: ServiceDbOption = None,
    json_out: JsonOption = False,
) -> None:
    """Create a key for an organisation and print it once (only its hash is stored)."""
    try:
        per_second = parse_rate(rate) if rate else None
        store = _store(db, service_db)
        wanted = list(KNOWN_SCOPES) if scopes.strip() == "all" else [s.strip() for s in scopes.split(",") if s.strip()]
        info, key = store.create_key(org, wanted, per_second,
                                     province.strip() if province else None, org_type)
    except ValueError as exc:
        fail(reason(exc), code=2)
    store.close()
    if json_out:
        print_json({"key": key, "id": info.id, "org": info.org, "scopes": list(info.scopes), "rate": info.rate,
                    "province": info.province})
    else:
        typer.echo(key)
        quota = message("cli.keys.rate", rate=info.rate) if info.rate else message("cli.keys.unlimited")
        typer.echo(shown(message("cli.keys.created", id=info.id, org=info.org, scopes=",".join(info.scopes),
                                 rate=quota)), err=True)


@keys_app.command("list")
def list_keys(db: DbOption = None, service_db: ServiceDbOption = None, json_out: JsonOption = False) -> None:
    """List keys (prefix, organisation, scopes, quota, state); never the keys themselves."""
    store = _store(db, service_db)
    rows = store.list_keys()
    store.close()
    if json_out:
        print_json([{"id": k.id, "prefix": k.prefix, "org": k.org, "scopes": list(k.scopes), "rate": k.rate,
                     "created": k.created, "revoked": k.revoked} for k in rows])
        return
    t = Table(*headings("id", "prefix", "org", "scopes", "rate_per_second", "created", "revoked"))
    unlimited = shown(message("cli.keys.unlimited_cell"))
    for k in rows:
        t.add_row(str(k.id), k.prefix, k.org, ",".join(k.scopes), unlimited if k.rate is None else f"{k.rate:g}",
                  _when(k.created), _when(k.revoked))
    stdout_console().print(t)


@keys_app.command("revoke")
def revoke(
    ident: Annotated[str, typer.Argument(help="Key id or prefix (from `jinef keys list`).")],
    db: DbOption = None,
    service_db: ServiceDbOption = None,
) -> None:
    """Revoke a key (takes effect within the workers' key cache time, 2 s)."""
    store = _store(db, service_db)
    n = store.revoke_key(ident)
    store.close()
    if not n:
        fail(message("cli.keys.no_active_key", key=ident))
    typer.echo(shown(message("cli.keys.revoked", n=n)))


def register(app: typer.Typer) -> None:
    """Attach `jinef keys`."""
    app.add_typer(keys_app, name="keys")
