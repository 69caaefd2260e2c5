"""Issuing a certificate from the registry, and checking one: offline (signature, key, dates) with the public
keys alone, and against the registry (revoked once the unit is retired, changed once its address is)."""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from jinef.model import postcode as pc
from jinef.read.certificates import document
from jinef.read.certificates.keys import CertificateKeys
from jinef.read.certificates.payload import Payload, PayloadError, address_version, parse, signature_valid
from jinef.read.registry.registry import Registry

DEFAULT_DAYS = 365  # a certificate is valid for a year, as the postal company's are
_KEYWORDS = re.compile(rb"/Keywords\s*\((JNF1\.[A-Za-z0-9._-]+)\)")

# status → (English, Persian): what a receiver is told.
MESSAGES: dict[str, tuple[str, str]] = {
    "valid": ("the certificate is authentic and in force", "گواهی معتبر است"),
    "malformed": ("this is not a Jinef certificate payload", "این متن گواهی جینف نیست"),
    "unknown_key": ("signed by a key that is not in the ring", "با کلیدی ناشناخته امضا شده است"),
    "bad_signature": ("the signature does not match: the certificate was altered",
                      "امضا نمی‌خواند: گواهی دستکاری شده است"),
    "expired": ("the certificate has expired", "اعتبار گواهی به پایان رسیده است"),
    "not_yet_valid": ("the certificate's issue date is in the future", "تاریخ صدور گواهی در آینده است"),
    "revoked": ("revoked: the postcode has been retired since issue", "باطل: کد پستی پس از صدور باطل شده است"),
    "changed": ("revoked: the address has changed since issue", "باطل: نشانی پس از صدور تغییر کرده است"),
    "unknown_postcode": ("the postcode is not in the registry", "کد پستی در ثبت نیست"),
}


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate just issued."""

    pdf: bytes
    payload: str
    serial: str
    issued: date
    expires: date


@dataclass(slots=True)
class Verdict:
    """What checking a certificate found."""

    status: str
    postcode: str | None = None
    serial: str | None = None
    issued: str | None = None
    expires: str | None = None
    kid: str | None = None
    checked: list[str] = field(default_factory=list)  # "signature", "dates", "registry"

    @property
    def valid(self) -> bool:
        """True when every check made passed."""
        return self.status == "valid"

    def as_dict(self) -> dict[str, Any]:
        """JSON form, with the message in English and Persian."""
        en, fa = MESSAGES[self.status]
        return {**asdict(self), "valid": self.valid, "message": en, "message_fa": fa}


def issue_certificate(registry: Registry, postcode: str, keys: CertificateKeys, today: date | None = None,
                      days: int = DEFAULT_DAYS) -> Issued | None:
    """The certificate of an active postcode (None when unknown or retired; invalid input raises)."""
    a = registry.lookup(postcode)
    if a is None or a.status != "active":
        return None
    today = today or date.today()
    kid, key = keys.signer()
    payload = Payload(a.postcode, address_version(a), today, today + timedelta(days=days),
                      secrets.token_hex(6).upper(), kid)
    signed = payload.signed(key)
    nearby: list[tuple[float, float]] = []
    if a.lat is not None and a.lon is not None:
        found = registry.reverse.reverse(a.lat, a.lon, radius_m=150, limit=60)
        nearby = [(b.lat, b.lon) for b in found.buildings]
    return Issued(document.render(a, payload, signed, nearby), signed, payload.serial, payload.issued,
                  payload.expires)


def payload_of(data: bytes | str) -> str:
    """The signed payload of a certificate PDF (its keywords), or the text itself when it is a payload."""
    if isinstance(data, str):
        return data.strip()
    m = _KEYWORDS.search(data)
    return m.group(1).decode() if m else data[:200].decode("latin-1").strip()


def check_offline(text: str, public_keys: dict[str, Ed25519PublicKey], today: date | None = None) -> Verdict:
    """Signature, key and dates, with nothing but the public keys."""
    try:
        payload, signature = parse(text)
    except PayloadError:
        return Verdict("malformed")
    v = Verdict("valid", payload.postcode, payload.serial, payload.issued.isoformat(), payload.expires.isoformat(),
                payload.kid, ["signature", "dates"])
    key = public_keys.get(payload.kid)
    if key is None:
        v.status = "unknown_key"
    elif not signature_valid(payload, signature, key):
        v.status = "bad_signature"
    else:
        today = today or date.today()
        if today > payload.expires:
            v.status = "expired"
        elif today < payload.issued:
            v.status = "not_yet_valid"
    return v


def check_with_registry(text: str, public_keys: dict[str, Ed25519PublicKey], registry: Registry,
                        today: date | None = None) -> Verdict:
    """:func:`check_offline`, then whether the unit is still as certified (not retired, address unchanged)."""
    v = check_offline(text, public_keys, today)
    if not v.valid or v.postcode is None:
        return v
    v.checked.append("registry")
    a = registry.lookup(pc.from_int(int(v.postcode)))
    payload, _ = parse(text)
    if a is None:
        v.status = "unknown_postcode"
    elif a.status != "active":
        v.status = "revoked"
    elif address_version(a) != payload.version:
        v.status = "changed"
    return v
