"""`jinef match INPUT -o OUTPUT`: a customer file's (national code, postcode) pairs matched by the verification hub.

An operator checking its subscribers, a bank its customers: each row asks "is this postcode the verified address
of this national code?" and gets yes or no, never the record. The rows go through the hub's own batch match
(:meth:`jinef.read.verify.MatchService.match_batch`) a chunk at a time, so every answer is judged by the same
enumeration limits as the HTTP API's, under the organisation's own label, and audited in the hub's chained log;
the run is also recorded in the service's call log (one record per chunk, with its row count). The organisation
is the holder of an API key with the ``match`` scope, read from ``JINEF_API_KEY`` or ``--key-file`` (never from
the command line, which other users of the machine can see).

:func:`match_csv` is what `jinef match` runs and what each partition of `jinef batch match` runs. The output echoes
the input's columns, national codes included, so it is created readable by its owner only (0600).
"""

from __future__ import annotations

import csv
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from jinef.api.servicedb import AuditRecord, Principal, hub_label, open_store
from jinef.cli.csv_rows import header_and_columns, row_chunks
from jinef.cli.language import shown
from jinef.cli.options import DbOption
from jinef.cli.output import console, fail, reason
from jinef.common.config import RegistryLocation
from jinef.common.csv_safety import neutralise_row
from jinef.common.input_encoding import check_encoding, detect_encoding, reading_error
from jinef.common.messages import message
from jinef.common.settings import settings

MATCH_COLUMNS = ("matched", "role", "verified_since", "trace_id", "error")
CHUNK_ROWS = 1_000  # one hub transaction (and one audit commit) per chunk
KEY_ENV = "JINEF_API_KEY"
ENDPOINT = "/batch/match"


@dataclass(frozen=True, slots=True)
class MatchColumns:
    """Which input columns hold the national code, the postcode and (optionally) the role asked about."""

    national_code: str = "national_code"
    postcode: str = "postcode"
    role: str = "role"


def match_csv(hub: Any, src: TextIO, dst: TextIO, org: str, purpose: str,
              columns: MatchColumns = MatchColumns(), on_chunk: Any = None) -> dict[str, int]:
    """Stream a CSV through the hub's batch match; counts of matched, not_matched and refused rows.

    ``org`` is the organisation's label in the hub (:func:`jinef.api.servicedb.hub_label`); ``on_chunk(rows)``
    is told after each chunk's answers are written (and audited).
    """
    from jinef.read.verify import MatchQuery

    reader = csv.reader(src)
    header, (inc, ipc) = header_and_columns(reader, columns.national_code, columns.postcode)
    irole = header.index(columns.role) if columns.role in header else None
    writer = csv.writer(dst, lineterminator="\n")
    writer.writerow(neutralise_row([*header, *MATCH_COLUMNS]))
    counts = {"matched": 0, "not_matched": 0, "refused": 0}

    def cell(row: list[str], i: int | None) -> str:
        return row[i].strip() if i is not None and i < len(row) else ""

    for chunk in row_chunks(reader, CHUNK_ROWS):
        queries = [MatchQuery(cell(r, inc), cell(r, ipc), n, cell(r, irole) or None) for n, r in enumerate(chunk)]
        for row, item in zip(chunk, hub.matching.match_batch(org, queries, purpose), strict=True):
            if item.error is not None:
                err = item.error
                reasons = "; ".join(str(r) for r in err.details.get("reasons", ()))
                out = ["", "", "", str(err.details.get("trace_id", "")),
                       f"{err.code}: {err.message}" + (f" ({reasons})" if reasons else "")]
                counts["refused"] += 1
            else:
                r = item.result
                since = r.verified_since.isoformat() if r.verified_since else ""
                out = ["true" if r.matched else "false", r.role or "", since, r.trace_id, ""]
                counts["matched" if r.matched else "not_matched"] += 1
            writer.writerow(neutralise_row([*row, *out]))  # input cells echoed: never as formulas
        if callable(on_chunk):
            on_chunk(len(chunk))
    return counts


def principal_from_key(db: str | None, key_file: Path | None) -> Principal:
    """The organisation behind ``--key-file`` or ``$JINEF_API_KEY``, which must hold the ``match`` scope."""
    configured = settings().api_key
    key = (key_file.read_text(encoding="utf-8") if key_file else configured.reveal() if configured else "").strip()
    if not key:
        fail(message("cli.match.no_key", env=KEY_ENV), code=2)
    store = open_store(RegistryLocation.of(db).service_target)
    try:
        principal = store.find_principal(key)
    finally:
        store.close()
    if principal is None:
        fail(message("cli.match.unknown_key"), code=2)
    if "match" not in principal.scopes:
        fail(message("cli.match.no_scope", org=principal.org), code=2)
    return principal


def open_hub(db: str | None, image: str | None = None) -> Any:
    """The verification hub of the registry ``db`` (a VerifyHub: close it), asking the read image for postcode
    status."""
    from jinef.read.registry.registry import Registry
    from jinef.read.verify import VerifyHub

    location = RegistryLocation.of(db)
    registry = Registry.open(Path(image) if image else location.image_root / "current")
    return VerifyHub.open(location.verify_target, registry.status)


def audit_run(db: str | None, principal_org: str, key_id: int, rows: int, seconds: float, worker: int = 0) -> None:
    """One record of a batch chunk's answers in the service's call log (who, how many, how long)."""
    store = open_store(RegistryLocation.of(db).service_target)
    try:
        store.write_audit([AuditRecord(time.time(), uuid.uuid4().hex, worker, principal_org, key_id, "BATCH",
                                       ENDPOINT, rows, 200, "ok", seconds * 1000.0)])
    finally:
        store.close()


def private_output(path: str | os.PathLike[str]) -> TextIO:
    """A new text file (replacing any) that only its owner can read: it echoes national codes."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its old mode through O_CREAT
    return open(fd, "w", newline="", encoding="utf-8")


def match(
    input_file: Annotated[Path, typer.Argument(help="CSV with national_code and postcode columns (role optional).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The CSV written (0600: it echoes national codes).")],
    purpose: Annotated[str, typer.Option("--purpose", help="Why the organisation asks (one of the hub's purposes).")],
    db: DbOption = None,
    key_file: Annotated[Path | None, typer.Option("--key-file", help=f"A file holding the organisation's API key "
                                                                     f"(default: ${KEY_ENV}).")] = None,
    code_column: Annotated[str, typer.Option("--code-column", help="The national code column.")] = "national_code",
    postcode_column: Annotated[str, typer.Option("--postcode-column", help="The postcode column.")] = "postcode",
    role_column: Annotated[str, typer.Option("--role-column", help="The role column, used when present.")] = "role",
    encoding: Annotated[str | None, typer.Option("--encoding", help="Input encoding (default: detected).")] = None,
) -> None:
    """Match a file's (national code, postcode) pairs: yes or no per row, audited, under the key's organisation."""
    if not input_file.is_file():
        fail(message("cli.file.missing", path=str(input_file)), code=2)
    from jinef.read.verify import VerifyConfig

    if purpose not in VerifyConfig().purposes:
        fail(message("cli.match.unknown_purpose", purpose=purpose, choices=sorted(VerifyConfig().purposes)), code=2)
    principal = principal_from_key(db, key_file)
    label = hub_label(principal.org_id, principal.org)
    columns = MatchColumns(code_column, postcode_column, role_column)
    enc = check_encoding(encoding) if encoding else detect_encoding(input_file)
    t0 = time.perf_counter()
    try:
        with open_hub(db) as hub, open(input_file, newline="", encoding=enc) as fin, private_output(output) as fout:
            counts = match_csv(hub, fin, fout, label, purpose, columns)
    except UnicodeDecodeError as exc:
        fail(reading_error(str(input_file), enc, exc))
    except ValueError as exc:
        fail(message("cli.file.problem", path=str(input_file), problem=reason(exc)))
    seconds = time.perf_counter() - t0
    audit_run(db, principal.org, principal.key_id, sum(counts.values()), seconds)
    console.print(shown(message("cli.match.done", rows=sum(counts.values()), output=str(output),
                                matched=counts["matched"], not_matched=counts["not_matched"],
                                refused=counts["refused"], seconds=seconds)), highlight=False, markup=False)
    if counts["refused"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach `jinef match`."""
    app.command()(match)
