"""Keyed hashing of personal identifiers, and the key ring that makes rotation possible.

National codes, mobiles and one-time codes are never stored in clear, only as keyed hashes
(HMAC-SHA256) under secrets kept outside the database.

Rotation design ("wrapping"): the database records a key version ``v``. A value is stored as
the chain

    h1 = HMAC(k1, domain ‖ value);   h_i = HMAC(k_i, h_(i−1)) for i = 2..v

Rotating to ``v + 1`` needs no clear value: every stored hash ``h`` becomes
``HMAC(k_(v+1), h)`` in one database transaction that also bumps the version, so matches stay
correct (a lookup computes the same chain from the clear value). After rotation a stolen
database copy is useless without the newest key, even to someone holding all the older ones;
the older keys stay in the ring (they are needed to compute the chain) but are harmless on
their own. A copy taken *before* rotation stays exposed to the keys of its time: no scheme
can fix that. The database also stores a check value per key version, so a wrong or edited
key ring is refused instead of silently turning every match into "no".

The key ring text is one key per line, ``<version>:<base64 of 32 bytes>`` (``;`` also
separates keys, for the environment variable). It comes from, in order: an explicit path,
the environment variable ``JINEF_VERIFY_KEY`` (the ring text itself), or the file
``verify.key`` next to the database (for a hub in PostgreSQL: in the state folder, ``JINEF_STATE_DIR``),
created with mode 0600 on first use. Replicas of the service sharing one hub must share its ring: copy the
file (0600) to every host, or give each the same ``JINEF_VERIFY_KEY`` from a secret store; the database keeps
only a check value per key, so a replica with another ring is refused at start instead of answering "no".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jinef.common.config import state_dir
from jinef.common.messages import message
from jinef.common.pg_location import is_postgres
from jinef.common.settings import settings
from jinef.read.verify.errors import KeyRingError

ENV_VAR = "JINEF_VERIFY_KEY"
DEFAULT_KEY_FILENAME = "verify.key"
KEY_BYTES = 32
_CHECK_MESSAGE = b"jinef-verify key check v1"

# Domain tags keep a national code's hash from ever equalling a mobile's or a code's hash.
DOMAIN_NATIONAL_CODE = b"nc\x00"
DOMAIN_MOBILE = b"mobile\x00"
DOMAIN_OTP = b"otp\x00"


def default_key_path(db_path: str | os.PathLike[str]) -> Path:
    """The documented default: ``verify.key`` in the database's directory (``var/verify.key``); for a hub in
    PostgreSQL (a ``postgresql://`` URL), in this host's state folder."""
    if is_postgres(db_path):
        return state_dir().resolve() / DEFAULT_KEY_FILENAME
    return Path(db_path).resolve().parent / DEFAULT_KEY_FILENAME


@dataclass(frozen=True, slots=True)
class KeyRing:
    """Versioned secrets; version ``i`` is ``keys[i - 1]``. ``path`` is None for an env ring."""

    keys: tuple[bytes, ...]
    path: Path | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"KeyRing(versions={len(self.keys)}, path={self.path})"

    @property
    def latest(self) -> int:
        """The highest key version in the ring."""
        return len(self.keys)

    def key(self, version: int) -> bytes:
        """The secret of one version (1-based)."""
        if not 1 <= version <= len(self.keys):
            raise KeyRingError(
                message("key_ring.version_missing", available=len(self.keys), needed=version),
                needed=version,
                available=len(self.keys),
            )
        return self.keys[version - 1]

    def check_value(self, version: int) -> str:
        """A value that identifies a key without revealing it (stored in the database)."""
        return hmac.digest(self.key(version), _CHECK_MESSAGE, "sha256")[:12].hex()

    def with_new_key(self) -> KeyRing:
        """A copy with one more freshly generated key."""
        return KeyRing((*self.keys, secrets.token_bytes(KEY_BYTES)), self.path)

    def to_text(self) -> str:
        """The ring's text form (what the key file or the environment variable holds)."""
        lines = [f"{i}:{base64.b64encode(k).decode('ascii')}" for i, k in enumerate(self.keys, 1)]
        return "\n".join(lines) + "\n"

    def save(self) -> None:
        """Write the ring to its file atomically with mode 0600 (never truncates in place)."""
        if self.path is None:
            raise KeyRingError(message("key_ring.read_only", variable=ENV_VAR))
        write_key_file(self.path, self)


def parse_ring(text: str, path: Path | None = None) -> KeyRing:
    """Read the ring text form; versions must be 1, 2, ... in order, each 32 bytes."""
    keys: list[bytes] = []
    for part in text.replace(";", "\n").splitlines():
        part = part.strip()
        if not part or part.startswith("#"):
            continue
        version, sep, b64 = part.partition(":")
        if not sep or not version.strip().isdigit():
            raise KeyRingError(message("key_ring.line_form", form="<version>:<base64 key>"))
        if int(version) != len(keys) + 1:
            raise KeyRingError(message("key_ring.out_of_order", found=int(version)))
        try:
            key = base64.b64decode(b64.strip(), validate=True)
        except ValueError as exc:
            raise KeyRingError(message("key_ring.not_base64", version=version, encoding="base64")) from exc
        if len(key) != KEY_BYTES:
            raise KeyRingError(message("key_ring.wrong_size", version=version, size=KEY_BYTES, found=len(key)))
        keys.append(key)
    if not keys:
        raise KeyRingError(message("key_ring.empty"))
    return KeyRing(tuple(keys), path)


def write_key_file(path: Path, ring: KeyRing) -> None:
    """Atomic 0600 write: a temporary file in the same directory, fsynced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    header = "# Jinef verification key ring: never edit or delete a line (see jinef/read/verify/keys.py).\n"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(header + ring.to_text())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # make the rename itself durable before any row depends on the new key
    finally:
        os.close(dir_fd)


def load_ring(
    key_path: str | os.PathLike[str] | None = None,
    *,
    db_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    create: bool = True,
) -> KeyRing:
    """Find the ring: explicit path, else ``$JINEF_VERIFY_KEY``, else ``verify.key`` by the database."""
    if environ is None:
        configured = settings().verify_key
        ring_text = configured.reveal() if configured is not None else None
    else:
        ring_text = environ.get(ENV_VAR)
    if key_path is None and ring_text:
        return parse_ring(ring_text, None)
    if key_path is None:
        if db_path is None:
            raise KeyRingError(message("key_ring.no_key", variable=ENV_VAR))
        key_path = default_key_path(db_path)
    path = Path(key_path)
    if not path.exists():
        if not create:
            raise KeyRingError(message("key_ring.no_file", path=str(path), mode="0600", variable=ENV_VAR))
        ring = KeyRing((secrets.token_bytes(KEY_BYTES),), path)
        write_key_file(path, ring)
        return ring
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeyRingError(message("key_ring.readable_by_others", path=str(path), mode=f"{mode:o}",
                                   command="chmod 600"))
    return parse_ring(path.read_text(encoding="ascii"), path)


class Hasher:
    """Computes stored hashes for one key version of a ring (see the module docstring)."""

    __slots__ = ("_keys", "version")

    def __init__(self, ring: KeyRing, version: int) -> None:
        self.version = version
        self._keys = tuple(ring.key(v) for v in range(1, version + 1))

    def _chain(self, message: bytes) -> bytes:
        h = hmac.digest(self._keys[0], message, "sha256")
        for k in self._keys[1:]:
            h = hmac.digest(k, h, "sha256")
        return h

    def national_code(self, code: str) -> bytes:
        """The stored form of a canonical national code."""
        return self._chain(DOMAIN_NATIONAL_CODE + code.encode("ascii"))

    def mobile(self, mobile: str) -> bytes:
        """The stored form of a canonical mobile number."""
        return self._chain(DOMAIN_MOBILE + mobile.encode("ascii"))

    def otp(self, ref: str, code: str) -> bytes:
        """The stored form of a one-time code, bound to the request or challenge it belongs to."""
        return self._chain(DOMAIN_OTP + ref.encode("utf-8") + b"\x00" + code.encode("utf-8"))


def wrap(key: bytes, stored: bytes) -> bytes:
    """One rotation step: the stored hash under the next key version."""
    return hmac.digest(key, stored, "sha256")


def otp_equal(a: bytes | None, b: bytes) -> bool:
    """Constant-time comparison of stored and computed code hashes."""
    return a is not None and hmac.compare_digest(a, b)


def fingerprint(data: bytes) -> str:
    """A short non-reversible tag of a hash, for alerts (never the identifier itself)."""
    return hashlib.sha256(data).hexdigest()[:12]
