"""Sealed text: what the development SMS outbox stores instead of a message holding a one-time code.

A one-time code is never stored in clear, not even by the development gateway. Its messages are
sealed with AES-256-GCM under a key derived from the hub's key ring (never the hashing key itself:
``HMAC(key_v, "jinef-outbox-seal-v1")``), so the database file alone does not give them away; the
key ring (0600, kept off the database's volume in production) opens them for ``jinef outbox``.
Stored form: ``sealed:<key version>:<base64 of nonce ‖ ciphertext>``.
"""

from __future__ import annotations

import base64
import hmac
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from jinef.common.messages import message
from jinef.read.verify.errors import KeyRingError
from jinef.read.verify.keys import KeyRing

PREFIX = "sealed:"
_LABEL = b"jinef-outbox-seal-v1"
_AAD = b"jinef-outbox"


def _aead(ring: KeyRing, version: int) -> AESGCM:
    return AESGCM(hmac.digest(ring.key(version), _LABEL, "sha256"))


def seal(ring: KeyRing, version: int, text: str) -> str:
    """``text`` sealed under key ``version`` of ``ring``."""
    nonce = secrets.token_bytes(12)
    blob = nonce + _aead(ring, version).encrypt(nonce, text.encode("utf-8"), _AAD)
    return f"{PREFIX}{version}:{base64.b64encode(blob).decode('ascii')}"


def is_sealed(stored: str) -> bool:
    """True for text written by :func:`seal`."""
    return stored.startswith(PREFIX)


def unseal(ring: KeyRing, stored: str) -> str:
    """The text of a sealed message (a KeyRingError when the ring cannot open it)."""
    version, _, b64 = stored[len(PREFIX):].partition(":")
    try:
        blob = base64.b64decode(b64, validate=True)
        return _aead(ring, int(version)).decrypt(blob[:12], blob[12:], _AAD).decode("utf-8")
    except (ValueError, InvalidTag):
        raise KeyRingError(message("key_ring.cannot_unseal")) from None
