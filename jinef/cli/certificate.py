"""`jinef certificate issue|verify|keys`: postcode certificates from the command line.

``verify`` works offline: the signature, key and dates are checked with the public keys alone (the ring
folder, or a file exported with ``keys --export``); given ``--db`` it also asks the registry whether the
unit was retired or its address changed since issue.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, print_json, reason
from jinef.common.config import RegistryLocation, RegistryNotFoundError
from jinef.common.messages import message
from jinef.model.postcode import PostcodeError
from jinef.read.certificates.issue import (
    DEFAULT_DAYS,
    MESSAGES,
    check_offline,
    check_with_registry,
    issue_certificate,
    payload_of,
)
from jinef.read.certificates.keys import CertificateKeys, KeyRingError, export_public, keys_from_pem_file
from jinef.read.registry.registry import Registry

certificate_app = typer.Typer(help="Signed postcode certificates (گواهی کد پستی).", no_args_is_help=True)
KeysOption = Annotated[Path | None, typer.Option("--keys", help="The signing keys' folder (default: beside the "
                                                                "registry, or JINEF_CERTIFICATE_KEYS).")]


def _ring(keys: Path | None, db: str | None, create: bool) -> CertificateKeys:
    try:
        return CertificateKeys.open(keys or RegistryLocation.of(db).certificate_keys, create=create)
    except (KeyRingError, OSError) as exc:
        fail(reason(exc))


@certificate_app.command("issue")
def issue(postcode: Annotated[str, typer.Argument(help="The postcode (any digit form).")],
          out: Annotated[Path | None, typer.Option("-o", "--output", help="The PDF to write (default stdout, "
                                                                          "when it is not a terminal).")] = None,
          days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Validity in days.")] = DEFAULT_DAYS,
          keys: KeysOption = None, db: DbOption = None, json_out: JsonOption = False) -> None:
    """Issue a certificate of an active postcode as a PDF (A4, Persian) with its signed QR code."""
    if out is None and sys.stdout.isatty():
        fail(message("cli.certificate.pdf_to_terminal"), code=2)
    try:
        registry = Registry.open(RegistryLocation.of(db))
        issued = issue_certificate(registry, postcode, _ring(keys, db, create=True), days=days)
    except PostcodeError as exc:
        fail(exc.validation.error(), code=1)
    except RegistryNotFoundError as exc:
        fail(reason(exc))
    if issued is None:
        fail(message("cli.certificate.not_issued", problem=message("postcode.no_active_unit", postcode=postcode)))
    if out is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(issued.pdf)
        sys.stdout.buffer.flush()
        json_out = False  # stdout holds the PDF: the summary goes to stderr
    else:
        out.write_bytes(issued.pdf)
    if json_out:
        print_json({"file": str(out), "serial": issued.serial, "issued": issued.issued.isoformat(),
                    "expires": issued.expires.isoformat(), "payload": issued.payload})
    else:
        console.print(shown(message("cli.certificate.issued", serial=issued.serial, postcode=postcode,
                                    out=str(out) if out else message("cli.stdout"),
                                    expires=issued.expires.isoformat())), highlight=False, markup=False)


@certificate_app.command("verify")
def verify(certificate: Annotated[str, typer.Argument(help="A certificate PDF, or its payload (the QR text).")],
           public_keys: Annotated[Path | None, typer.Option("--public-keys", help="Public keys exported with "
                                                                                  "`keys --export`.")] = None,
           keys: KeysOption = None,
           db: Annotated[str | None, typer.Option("--db", help="Also ask this registry whether the unit was retired "
                                                               "or changed since issue.")] = None,
           json_out: JsonOption = False) -> None:
    """Check a certificate: exit 0 when valid, 1 when not (saying why)."""
    path = Path(certificate)
    text = payload_of(path.read_bytes()) if path.is_file() else payload_of(certificate)
    try:
        ring = keys_from_pem_file(public_keys) if public_keys else _ring(keys, db, create=False).public_keys()
    except (KeyRingError, OSError) as exc:
        fail(reason(exc), code=2)
    if db is not None:
        try:
            verdict = check_with_registry(text, ring, Registry.open(RegistryLocation.of(db)))
        except RegistryNotFoundError as exc:
            fail(reason(exc))
    else:
        verdict = check_offline(text, ring)
    if json_out:
        print_json(verdict.as_dict())
    else:
        en, fa = MESSAGES[verdict.status]
        sys.stdout.write(f"{verdict.status}: {en} — {fa}\n")
        if verdict.postcode:
            sys.stdout.write(f"postcode {verdict.postcode}, serial {verdict.serial}, issued {verdict.issued}, "
                             f"valid until {verdict.expires}, key {verdict.kid}\n")
    if not verdict.valid:
        raise typer.Exit(1)


@certificate_app.command("keys")
def keys_cmd(rotate: Annotated[bool, typer.Option("--rotate", help="Make a new signing key current.")] = False,
             export: Annotated[Path | None, typer.Option("--export", help="Write the public keys here.")] = None,
             keys: KeysOption = None, db: DbOption = None) -> None:
    """List, rotate or export the certificate signing keys (old public keys stay: old certificates verify)."""
    ring = _ring(keys, db, create=True)
    if rotate:
        console.print(shown(message("cli.certificate.new_key", kid=ring.rotate())), highlight=False, markup=False)
    public = ring.public_keys()
    if export is not None:
        export.write_text(export_public(public))
    for kid in public:
        sys.stdout.write(shown(message("cli.certificate.current_key", kid=kid)) + "\n" if kid == ring.current
                         else f"{kid}\n")


def register(app: typer.Typer) -> None:
    """Attach `jinef certificate`."""
    app.add_typer(certificate_app, name="certificate")
