"""Where things are: the registry (a SQLite file or a PostgreSQL URL), its read image and the service state.

:class:`RegistryLocation` is the one answer to "where is the registry" used everywhere: a file path or a
``postgresql://`` URL, and the places that belong to it (its read image, the service database, the
verification hub's database). The functions below it are shorthands kept for callers that want one path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from jinef.common.messages import Message, MessageError, message
from jinef.common.pg_location import is_postgres, parse_location, with_schema
from jinef.common.settings import DEFAULTS, settings

# The defaults live with the settings (docs/configuration.md).
DEFAULT_DB = Path(DEFAULTS.db)
# The HTTP service's guards against slow and greedy clients (jinef.api.slow_clients; `jinef serve` options).
DEFAULT_HEADER_TIMEOUT = DEFAULTS.header_timeout  # seconds for a request's line and headers
DEFAULT_BODY_TIMEOUT = DEFAULTS.body_timeout  # seconds for its body (at most 256 KB)
DEFAULT_MAX_CONNS_PER_CLIENT = DEFAULTS.max_conns_per_client  # per client address, per worker
# A replacing import may leave the registry at most this share smaller (`--max-shrink`, JINEF_MAX_SHRINK).
DEFAULT_MAX_SHRINK = DEFAULTS.max_shrink


def state_dir() -> Path:
    """Where what belongs to a PostgreSQL registry lives on this host (its read image, the service databases):
    ``JINEF_STATE_DIR``, else ``./var``."""
    return settings().state_dir


def max_shrink(explicit: float | None = None) -> float:
    """The share a replacing import may shrink the registry by: ``--max-shrink``, else ``JINEF_MAX_SHRINK``, else
    10%; a ValueError when it is not a number from 0 to 1."""
    raw: object = explicit if explicit is not None else settings().max_shrink
    try:
        value = float(raw)  # type: ignore[arg-type]
    except ValueError:
        raise MessageError(message("settings.max_shrink", value=repr(raw))) from None
    if not 0 <= value <= 1:
        raise MessageError(message("settings.max_shrink", value=repr(raw)))
    return value


_PG_SCHEMES = ("postgresql://", "postgres://")


class RegistryNotFoundError(FileNotFoundError):
    """No registry at the given location (no file, no schema, no read image, or no server to ask); ``text`` is
    the catalogue's message when there is one (``str()`` is English)."""

    def __init__(self, detail: str | Message) -> None:
        super().__init__(detail.text("en") if isinstance(detail, Message) else detail)
        self.text = detail if isinstance(detail, Message) else None


def _is_url(raw: object) -> bool:
    return isinstance(raw, str) and raw.startswith(_PG_SCHEMES)


@dataclass(frozen=True)
class RegistryLocation:
    """A registry's location: ``target`` is a SQLite file path or a PostgreSQL URL (``?schema=`` included)."""

    target: str

    @classmethod
    def of(cls, explicit: str | os.PathLike[str] | RegistryLocation | None = None) -> RegistryLocation:
        """``--db`` (a path, a URL or a location), else ``JINEF_DB``, else ``./var/registry.sqlite``."""
        if isinstance(explicit, RegistryLocation):
            return explicit
        raw = explicit or settings().db
        if _is_url(raw):
            return cls(str(raw))
        return cls(str(Path(raw)))

    @property
    def is_postgres(self) -> bool:
        """True for a PostgreSQL registry."""
        return _is_url(self.target)

    @property
    def path(self) -> Path:
        """The SQLite file (only for a file registry)."""
        if self.is_postgres:
            raise ValueError(f"{self.describe()} is a PostgreSQL registry, not a file")
        return Path(self.target)

    def engine_target(self) -> str | Path:
        """What the storage engines take: the URL, or the file as a Path."""
        return self.target if self.is_postgres else Path(self.target)

    def exists(self) -> bool:
        """Whether a file registry's file is there (a PostgreSQL registry is asked when opened)."""
        return True if self.is_postgres else Path(self.target).is_file()

    def describe(self) -> str:
        """The location for messages, never with a password."""
        if not self.is_postgres:
            return self.target
        s = re.sub(r"(://[^:/@?]*:)[^@/?]*@", r"\1***@", self.target)
        return re.sub(r"(password=)[^&\s]*", r"\1***", s)

    def _slug(self) -> str:
        """A file-name-safe name for a PostgreSQL registry: host, database and schema."""
        parts = urlsplit(self.target)
        query = dict(p.partition("=")[::2] for p in parts.query.split("&") if p)
        host = parts.hostname or query.get("host", "local").strip("/").replace("/", "_")
        db = parts.path.strip("/") or "postgres"
        schema = query.get("schema", "jinef")
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{host}-{db}-{schema}")

    @property
    def image_root(self) -> Path:
        """The read image's folder: ``JINEF_IMAGE_DIR``, else beside the file (``registry.image``), else
        ``<state dir>/images/<host>-<database>-<schema>`` for PostgreSQL."""
        configured = settings().image_dir
        if configured is not None:
            return configured
        if self.is_postgres:
            return state_dir() / "images" / self._slug()
        p = Path(self.target)
        return p.with_name(f"{p.stem}.image")

    def _beside(self, suffix: str) -> Path:
        # A PostgreSQL registry has no file to sit beside: its state lives in the state folder.
        reg = state_dir() / DEFAULT_DB.name if self.is_postgres else Path(self.target)
        return reg.with_name(f"{reg.stem}.{suffix}.sqlite")

    @property
    def certificate_keys(self) -> Path:
        """The certificate signing keys' folder: ``JINEF_CERTIFICATE_KEYS``, else beside the registry
        (``var/registry.certificate-keys``)."""
        configured = settings().certificate_keys
        if configured is not None:
            return configured
        return self._beside("certificate-keys").with_suffix("")

    @property
    def service_db(self) -> Path:
        """The service database (keys, organisations, quotas, audit) beside the registry.

        It must not live inside the registry file, which rebuilds replace atomically and readers open
        read-only: ``var/registry.sqlite`` → ``var/registry.service.sqlite``.
        """
        return self._beside("service")

    @property
    def verify_db(self) -> Path:
        """The verification hub's database beside the registry: ``var/registry.verify.sqlite``.

        Live state, so not in the registry file (rebuilds replace it). Not in the service database
        either: SQLite has one write lock per file, and every match commits its audit record with a
        full fsync; sharing the file would queue those commits behind the request-audit writer and
        the quota updates (and vice versa). A separate file also keeps the personal data (hashes) on
        its own backup and retention schedule.
        """
        return self._beside("verify")

    def _schema_beside(self, suffix: str) -> str:
        # Beside the registry's schema, never one a replace or a rollback renames or drops (those are
        # <schema>_build_… and <schema>_previous only).
        return with_schema(self.target, f"{parse_location(self.target).schema}_{suffix}")

    @property
    def service_target(self) -> str | Path:
        """Where the service state lives by default: :attr:`service_db` for a file registry; for a PostgreSQL
        registry the same database, schema ``<schema>_service``, so every replica shares keys, quotas and audit."""
        return self._schema_beside("service") if self.is_postgres else self.service_db

    @property
    def verify_target(self) -> str | Path:
        """Where the verification hub lives by default: :attr:`verify_db` for a file registry; for a PostgreSQL
        registry the same database, schema ``<schema>_verify``, so every replica counts every match."""
        return self._schema_beside("verify") if self.is_postgres else self.verify_db

    @property
    def dashboard_target(self) -> str | Path:
        """Where the provinces' plans and snapshots live by default: beside the service database for a file
        registry; for a PostgreSQL registry the same database, schema ``<schema>_dashboard``, so every replica and
        every office's command line sees the same plans and trajectories."""
        return self._schema_beside("dashboard") if self.is_postgres else dashboard_file_beside(self.service_db)


def dashboard_file_beside(service_db: str | os.PathLike[str]) -> Path:
    """The plans' and snapshots' file beside a service database (``x.service.sqlite`` → ``x.dashboard.sqlite``)."""
    svc = Path(service_db)
    stem = svc.name.removesuffix(".sqlite").removesuffix(".service")
    return svc.with_name(f"{stem}.dashboard.sqlite")


def dashboard_beside(service_target: str | os.PathLike[str]) -> str | Path:
    """The plans' and snapshots' store beside a service store: the file beside its file, or schema
    ``<x>_dashboard`` beside its schema ``<x>_service``."""
    if is_postgres(service_target):
        schema = parse_location(str(service_target)).schema
        return with_schema(str(service_target), f"{schema.removesuffix('_service')}_dashboard")
    return dashboard_file_beside(service_target)


def store_target(explicit: str | os.PathLike[str] | None, default: str | Path) -> str | Path:
    """A state store named by ``--service-db``/``--verify-db`` (a file path or a ``postgresql://`` URL), else
    ``default``: a URL stays a string, a path becomes a Path."""
    if explicit is None or explicit == "":
        return default
    return str(explicit) if _is_url(str(explicit)) else Path(explicit)


def db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The registry file: ``--db PATH``, else ``JINEF_DB``, else ``./var/registry.sqlite``."""
    return RegistryLocation.of(explicit).path


def registry_location(explicit: str | os.PathLike[str] | RegistryLocation | None = None) -> str | Path:
    """The registry as the engines take it: a ``postgresql://`` URL stays a string, a file is a Path."""
    return RegistryLocation.of(explicit).engine_target()


def service_db_path(registry_path: str | os.PathLike[str] | RegistryLocation | None = None) -> Path:
    """The service database beside the registry (see :attr:`RegistryLocation.service_db`)."""
    return RegistryLocation.of(registry_path).service_db


def verify_db_path(registry_path: str | os.PathLike[str] | RegistryLocation | None = None) -> Path:
    """The verification hub's database beside the registry (see :attr:`RegistryLocation.verify_db`)."""
    return RegistryLocation.of(registry_path).verify_db


def service_target(registry: str | os.PathLike[str] | RegistryLocation | None = None,
                   explicit: str | os.PathLike[str] | None = None) -> str | Path:
    """The service store: ``--service-db`` (a file or a URL), else the registry's default
    (:attr:`RegistryLocation.service_target`)."""
    return store_target(explicit, RegistryLocation.of(registry).service_target)


def verify_target(registry: str | os.PathLike[str] | RegistryLocation | None = None,
                  explicit: str | os.PathLike[str] | None = None) -> str | Path:
    """The verification hub's store: ``--verify-db`` (a file or a URL), else the registry's default
    (:attr:`RegistryLocation.verify_target`)."""
    return store_target(explicit, RegistryLocation.of(registry).verify_target)
