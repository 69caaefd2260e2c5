"""The certificate's signed payload: what its QR code holds, checked offline with the public key alone.

``JNF1.<postcode>.<version>.<issued>.<expires>.<serial>.<kid>.<signature>``: the postcode, the version of the
unit's address (a digest of everything the certificate states, so a changed address is detected), issue and
expiry dates (``YYYYMMDD``, Gregorian), a serial, the signing key's id, and an Ed25519 signature (base64url) of
everything before it. About 160 ASCII characters: a QR code of version 8 at level M.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import date

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jinef.model.address import Address, format_coord

PREFIX = "JNF1"
_SHAPE = re.compile(r"^JNF1\.(\d{10})\.([0-9a-f]{12})\.(\d{8})\.(\d{8})\.([0-9A-F]{12})\.([0-9a-z]{1,16})"
                    r"\.([A-Za-z0-9_-]{86})$")


class PayloadError(ValueError):
    """A payload that is not a certificate's (malformed), named with what is wrong."""


@dataclass(frozen=True, slots=True)
class Payload:
    """What a certificate states, signed."""

    postcode: str
    version: str
    issued: date
    expires: date
    serial: str
    kid: str

    def body(self) -> str:
        """The signed text."""
        return ".".join((PREFIX, self.postcode, self.version, f"{self.issued:%Y%m%d}", f"{self.expires:%Y%m%d}",
                         self.serial, self.kid))

    def signed(self, key: Ed25519PrivateKey) -> str:
        """The payload with its signature, as the QR code holds it."""
        signature = base64.urlsafe_b64encode(key.sign(self.body().encode())).rstrip(b"=").decode()
        return f"{self.body()}.{signature}"


def address_version(a: Address) -> str:
    """The digest of what a certificate states about a unit: any change of the address or point changes it."""
    text = "|".join((a.standard_address, a.usage, format_coord(a.lat), format_coord(a.lon), a.status))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def parse(text: str) -> tuple[Payload, bytes]:
    """The payload and its signature bytes; :class:`PayloadError` when the text is not one."""
    m = _SHAPE.match(text.strip())
    if m is None:
        raise PayloadError("not a Jinef certificate payload (JNF1.postcode.version.issued.expires.serial.kid.sig)")
    try:
        issued = date(int(m[3][:4]), int(m[3][4:6]), int(m[3][6:]))
        expires = date(int(m[4][:4]), int(m[4][4:6]), int(m[4][6:]))
    except ValueError:
        raise PayloadError("the payload's dates are not dates") from None
    signature = base64.urlsafe_b64decode(m[7] + "==")
    return Payload(m[1], m[2], issued, expires, m[5], m[6]), signature


def signature_valid(payload: Payload, signature: bytes, key: Ed25519PublicKey) -> bool:
    """Whether ``signature`` is the key's signature of the payload."""
    try:
        key.verify(signature, payload.body().encode())
        return True
    except InvalidSignature:
        return False
