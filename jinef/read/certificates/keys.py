"""The certificate signing keys: Ed25519, a folder of them, one current; rotation keeps the old public keys.

``<registry>.certificate-keys/``: ``<kid>.key`` (private, PKCS#8 PEM, 0600), ``<kid>.pub`` (public, PEM) and
``current`` (the kid that signs). Rotating makes a new key current; certificates signed by older keys stay
verifiable as long as their public key is in the ring. A receiver needs only the public keys
(``jinef certificate keys --export``, or ``GET /v1/certificates/keys``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from jinef.common.fileperm import create_private
from jinef.common.messages import Message, message


class KeyRingError(RuntimeError):
    """The key folder cannot be used (unreadable, or a key that is not Ed25519); ``text`` says why in either
    language, ``str()`` in English."""

    def __init__(self, text: Message) -> None:
        super().__init__(text.text("en"))
        self.text = text


def public_pem(key: Ed25519PublicKey) -> str:
    """A public key as PEM text."""
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public(pem: str | bytes) -> Ed25519PublicKey:
    """A public key from PEM text."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise KeyRingError(message("certificate_keys.not_ed25519_public", algorithm="Ed25519"))
    return key


@dataclass
class CertificateKeys:
    """The signing key ring in one folder."""

    folder: Path

    @classmethod
    def open(cls, folder: Path, create: bool = True) -> CertificateKeys:
        """The ring in ``folder``; a first key is made when there is none and ``create``."""
        ring = cls(Path(folder))
        if not (ring.folder / "current").is_file():
            if not create:
                raise KeyRingError(message("certificate_keys.none", folder=str(folder)))
            ring.rotate()
        return ring

    def rotate(self) -> str:
        """Make a new key current (the old ones stay for verification); its kid."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder.chmod(0o700)
        kid = secrets.token_hex(4)
        key = Ed25519PrivateKey.generate()
        private = self.folder / f"{kid}.key"
        create_private(private)
        private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()))
        (self.folder / f"{kid}.pub").write_text(public_pem(key.public_key()))
        tmp = self.folder / "current.tmp"
        tmp.write_text(kid)
        tmp.replace(self.folder / "current")
        return kid

    @property
    def current(self) -> str:
        """The kid that signs now."""
        return (self.folder / "current").read_text().strip()

    def signer(self) -> tuple[str, Ed25519PrivateKey]:
        """The current kid and its private key."""
        kid = self.current
        key = serialization.load_pem_private_key((self.folder / f"{kid}.key").read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyRingError(message("certificate_keys.not_ed25519", kid=kid, algorithm="Ed25519"))
        return kid, key

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every public key of the ring by kid (old ones included)."""
        return {p.stem: load_public(p.read_bytes()) for p in sorted(self.folder.glob("*.pub"))}


def keys_from_pem_file(path: Path) -> dict[str, Ed25519PublicKey]:
    """Public keys exported as one file of ``kid: PEM`` blocks (see :func:`export_public`)."""
    out: dict[str, Ed25519PublicKey] = {}
    kid = None
    block: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("kid: "):
            kid, block = line[5:].strip(), []
        elif kid is not None:
            block.append(line)
            if line.startswith("-----END"):
                out[kid] = load_public("\n".join(block) + "\n")
                kid = None
    if not out:
        raise KeyRingError(message("certificate_keys.no_public_keys", path=str(path)))
    return out


def export_public(keys: dict[str, Ed25519PublicKey]) -> str:
    """The ring's public keys as one text a receiver keeps to verify offline."""
    return "".join(f"kid: {kid}\n{public_pem(k)}" for kid, k in keys.items())
