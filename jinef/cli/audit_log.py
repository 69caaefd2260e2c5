"""`jinef audit tail|export`: the service's call log. Other modules add commands to :data:`audit_app`."""

from __future__ import annotations

import csv
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from jinef.api.servicedb import AUDIT_COLUMNS, AuditRecord, open_store
from jinef.cli.language import shown
from jinef.cli.options import DbOption
from jinef.cli.output import fail
from jinef.common.config import service_target
from jinef.common.csv_safety import neutralise_row
from jinef.common.messages import message

audit_app = typer.Typer(help="The audit log of service calls.", no_args_is_help=True)
ServiceDbOption = Annotated[str | None, typer.Option("--service-db", help="Service database: a file or a "
                                                    "postgresql:// URL (default: the registry's, see `jinef serve`).")]


def _existing(db: str | None, service_db: str | None) -> str | Path:
    """The service store to read, which must exist when it is a file (a PostgreSQL schema is made on open)."""
    target = service_target(db, service_db)
    if isinstance(target, Path) and not target.is_file():
        fail(message("cli.audit.no_database", where=str(target)))
    return target


def _line(r: AuditRecord) -> str:
    when = datetime.fromtimestamp(r.ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return (f"{when} {r.request_id} {r.org} {r.method} {r.endpoint} items={r.items} "
            f"status={r.status} {r.outcome} {r.latency_ms:.1f}ms")


def _parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        fail(message("cli.audit.not_a_time", text=text), code=2)
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


@audit_app.command("tail")
def tail(
    n: Annotated[int, typer.Option("-n", "--lines", min=1, help="How many records.")] = 20,
    org: Annotated[str | None, typer.Option("--org", help="Only this organisation.")] = None,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing new records.")] = False,
    db: DbOption = None,
    service_db: ServiceDbOption = None,
) -> None:
    """Print the latest audit records, oldest first."""
    store = open_store(_existing(db, service_db))
    seen = ""
    try:
        while True:
            rows = store.tail_audit(n, org)
            start = next((i + 1 for i, r in enumerate(rows) if r.request_id == seen), 0) if seen else 0
            for r in rows[start:]:
                typer.echo(_line(r))
            if rows:
                seen = rows[-1].request_id
            if not follow:
                break
            time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        store.close()


@audit_app.command("export")
def export(
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output file (default stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    since: Annotated[str | None, typer.Option("--since", help="ISO time, inclusive (UTC if no zone).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO time, exclusive.")] = None,
    db: DbOption = None,
    service_db: ServiceDbOption = None,
) -> None:
    """Write audit records in time order as JSON lines or CSV."""
    if fmt not in ("jsonl", "csv"):
        fail(message("cli.format.unknown", value=fmt, choices=("jsonl", "csv")), code=2)
    store = open_store(_existing(db, service_db))
    fh = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
    n = 0
    try:
        writer = csv.writer(fh) if fmt == "csv" else None
        if writer:
            writer.writerow(AUDIT_COLUMNS)
        for r in store.iter_audit(_parse_time(since), _parse_time(until)):
            if writer:
                writer.writerow(neutralise_row([getattr(r, c) for c in AUDIT_COLUMNS]))  # org names are free text
            else:
                fh.write(json.dumps(r.as_dict(), ensure_ascii=False) + "\n")
            n += 1
    finally:
        if output:
            fh.close()
        store.close()
    typer.echo(shown(message("cli.audit.exported", n=n)), err=True)


def register(app: typer.Typer) -> None:
    """Attach `jinef audit`."""
    app.add_typer(audit_app, name="audit")
