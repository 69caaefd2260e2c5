"""Every setting of Jinef in one object: its environment variable, its default and what it means.

A setting comes from, first to last: the environment (``JINEF_<NAME>``; an empty value counts as unset), the TOML
file that ``JINEF_CONFIG`` (or ``jinef --config FILE``) names (``<name> = value``, lower case, no sections), the
default. :func:`settings` reads them afresh whenever the environment or the file changed, so a test or `jinef serve`
that sets a variable is seen at once. ``docs/configuration.md`` is generated from this class (`jinef settings
--markdown`); a test keeps the two equal and checks that every ``JINEF_`` variable named in the code is declared here.

A frozen dataclass and the standard library's ``tomllib``, not a settings library: every command reads the settings,
and importing pydantic-settings cost each one about a third of a second before it did anything.

A file that holds a secret (the hub's key ring, the SMS gateway's token) must be readable by its owner only (0600).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinef.common.messages import Message, MessageError, message

PREFIX = "JINEF_"
CONFIG_VARIABLE = "JINEF_CONFIG"  # names the TOML file; not a setting itself (a file cannot name another file)


class SettingsError(MessageError):
    """A setting that cannot be used: which variable or file key, what was wrong. ``text`` is the catalogue's
    message (the CLI shows it in its language); ``str()`` says it in Persian, then English, for logs and tracebacks
    that know no reader's language."""

    def __str__(self) -> str:
        return f"{self.text.text('fa')} / {self.text.text('en')}"


@dataclass(frozen=True)
class Secret:
    """A secret setting's text: never shown by ``repr`` or ``str``, only by :meth:`reveal`."""

    text: str = field(repr=False)

    def reveal(self) -> str:
        """The secret itself, for the one place that needs it."""
        return self.text

    def __str__(self) -> str:
        return "***"


REGISTRY, SERVICE, HUB, DATA, OPERATIONS = ("The registry and its files", "The HTTP service",
                                            "The verification hub", "Reference data and caches",
                                            "Logs and browsers")


def _about(meaning: str, group: str, minimum: float | None = None, maximum: float | None = None) -> dict[str, Any]:
    return {"meaning": meaning, "group": group, "minimum": minimum, "maximum": maximum}


@dataclass(frozen=True)
class Settings:
    """Jinef's settings: the environment, else the TOML file named by ``JINEF_CONFIG``, else these defaults."""

    db: str = field(default="var/registry.sqlite", metadata=_about(
        "The registry: a SQLite file or a `postgresql://` URL (`?schema=` included). `--db` overrides it.", REGISTRY))
    image_dir: Path | None = field(default=None, metadata=_about(
        "The read image's folder. Unset: beside a SQLite registry (`registry.image`), or "
        "`<state_dir>/images/<host>-<database>-<schema>` for PostgreSQL.", REGISTRY))
    state_dir: Path = field(default=Path("var"), metadata=_about(
        "Where what belongs to a PostgreSQL registry lives on this host (its read image, the service "
        "databases).", REGISTRY))
    service_db: str | None = field(default=None, metadata=_about(
        "The service database (keys, organisations, quotas, call audit): a file or a `postgresql://` URL. Unset: "
        "beside a file registry, `<stem>.service.sqlite`; schema `<schema>_service` of a PostgreSQL registry's "
        "database, shared by its replicas. `--service-db` overrides it.", REGISTRY))
    certificate_keys: Path | None = field(default=None, metadata=_about(
        "The postcode certificates' signing keys folder. Unset: beside the registry, "
        "`<stem>.certificate-keys`.", REGISTRY))
    max_shrink: float = field(default=0.1, metadata=_about(
        "The share by which a replacing `jinef import` may shrink the registry (`--max-shrink` "
        "overrides it).", REGISTRY, 0, 1))

    max_body: int = field(default=256 * 1024, metadata=_about(
        "Largest request body in bytes (413 beyond; a 1,000-row GNAF batch is about 50 KB).", SERVICE, 1))
    max_upload: int = field(default=8 * 1024 * 1024, metadata=_about(
        "Largest CSV upload in bytes on /v1/geocode/csv and /v1/reverse/csv (413 beyond). A request holds one "
        "worker's thread for its whole file: 8 MiB is about 40,000 typed addresses, half a minute on one core; "
        "bigger files belong to `jinef batch` (every core, resumable).", SERVICE, 1))
    warm: bool = field(default=False, metadata=_about(
        "Make every answering structure at start-up, in the background, rather than on first use (`jinef "
        "serve --warm/--lazy` overrides it).", SERVICE))
    header_timeout: float = field(default=10.0, metadata=_about(
        "Seconds a request's line and headers may take to arrive (then 408 and close; 0: no limit).", SERVICE, 0))
    body_timeout: float = field(default=30.0, metadata=_about(
        "Seconds a request's body may take to arrive after its headers (then the connection is closed).", SERVICE, 0))
    max_conns_per_client: int = field(default=1024, metadata=_about(
        "Open connections one client address may hold per worker (0: no cap; behind a reverse proxy cap "
        "there and use 0).", SERVICE, 0))
    max_connections: int | None = field(default=None, metadata=_about(
        "Connections and requests a worker serves at once (beyond: 503). Unset: no limit.", SERVICE, 1))
    fold_every: float = field(default=0.0, metadata=_about(
        "Seconds between folding the registry's edits into a new read image (0: never; run `jinef index` "
        "yourself).", SERVICE, 0))
    snapshot_every: float = field(default=0.0, metadata=_about(
        "Seconds between dated snapshots of the dashboard's measures (0: never).", SERVICE, 0))

    verify_db: str | None = field(default=None, metadata=_about(
        "The verification hub's database: a file or a `postgresql://` URL. Unset: beside a file registry, "
        "`<stem>.verify.sqlite`; schema `<schema>_verify` of a PostgreSQL registry's database, shared by its "
        "replicas. `--verify-db` overrides it.", HUB))
    verify_key: Secret | None = field(default=None, metadata=_about(
        "The hub's key ring itself (`<version>:<base64>` lines or `;`-separated). Unset: `verify_key_file`, else "
        "`verify.key` beside the hub's database, or in `state_dir` for a hub in PostgreSQL (made 0600 on first "
        "use). Replicas sharing a hub need the same ring.", HUB))
    verify_key_file: Path | None = field(default=None, metadata=_about(
        "A file holding the hub's key ring (mode 0600), for the HTTP service's workers.", HUB))
    sms_gateway_url: str | None = field(default=None, metadata=_about(
        "The operator's SMS endpoint (JSON POST) for one-time codes. Unset and no `dev_sms_outbox`: verification "
        "requests are refused (503 sms_unavailable).", HUB))
    api_key: Secret | None = field(default=None, metadata=_about(
        "An organisation's API key for `jinef match` and `jinef batch match` (never on the command line; "
        "`--key-file` overrides it).", HUB))
    sms_gateway_token: Secret | None = field(default=None, metadata=_about(
        "The bearer token sent to the SMS gateway.", HUB))
    dev_sms_outbox: bool = field(default=False, metadata=_about(
        "Development only: texts go to the hub's sealed outbox table (read with `jinef outbox`) instead of an "
        "SMS gateway.", HUB))

    data: Path | None = field(default=None, metadata=_about(
        "The reference data folder (divisions and boundaries). Unset: `../shared/data/iran` when it exists.", DATA))
    cache_dir: Path = field(default=Path("var/cache"), metadata=_about(
        "Where parsed reference data and other caches are kept.", DATA))
    fetch_base: str = field(default="https://github.com", metadata=_about(
        "Where `jinef data fetch` downloads the reference data from (a mirror with the same paths).", DATA))

    access_log: str = field(default="", metadata=_about(
        "One JSON line per HTTP request (time, request id, worker, method, route, status, latency, "
        "organisation; never a key, a query or personal data): `-` for standard error, a file path to "
        "append to (made 0600), empty for none.", OPERATIONS))
    cors_origins: tuple[str, ...] = field(default=(), metadata=_about(
        "Web origins whose pages may call the API from a browser (CORS): comma-separated in the "
        "environment, a list in the file, `*` for any. Empty: none (browsers allow only this service's "
        "own pages).", OPERATIONS))


DEFAULTS = Settings()
FIELDS: dict[str, dataclasses.Field[Any]] = {f.name: f for f in dataclasses.fields(Settings)}
TYPES: dict[str, Any] = typing.get_type_hints(Settings)


def _base(hint: Any) -> Any:
    """The type a setting holds, ``None`` taken off."""
    if isinstance(hint, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


SECRETS = frozenset(n for n in FIELDS if _base(TYPES[n]) is Secret)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
# What each kind of value must be: the catalogue's settings.rule.<rule> (the rule a bad value broke).
_RULES = {bool: "bool", int: "int", float: "float", str: "text", Path: "path", Secret: "text", tuple: "list"}


def variable(name: str) -> str:
    """The environment variable of setting ``name``."""
    return PREFIX + name.upper()


def config_path() -> Path | None:
    """The TOML file ``JINEF_CONFIG`` names, if any."""
    raw = os.environ.get(CONFIG_VARIABLE)
    return Path(raw) if raw else None


def _convert(name: str, raw: Any, from_text: bool) -> Any:
    """``raw`` as setting ``name`` holds it (an environment variable's text, or a TOML value); a
    :class:`MessageError` naming the rule when it cannot be."""
    kind = _base(TYPES[name])
    kind = tuple if typing.get_origin(kind) is tuple else kind
    broken = MessageError(message(f"settings.rule.{_RULES[kind]}"))
    value: Any
    if kind is bool:
        text = str(raw).strip().lower() if from_text else None
        if text in _TRUE or (not from_text and raw is True):
            value = True
        elif text in _FALSE or (not from_text and raw is False):
            value = False
        else:
            raise broken
    elif kind in (int, float):
        if not from_text and (isinstance(raw, bool) or not isinstance(raw, int | float) or
                              (kind is int and isinstance(raw, float))):
            raise broken
        try:
            value = kind(raw)
        except ValueError:
            raise broken from None
        low, high = FIELDS[name].metadata["minimum"], FIELDS[name].metadata["maximum"]
        if (low is not None and value < low) or (high is not None and value > high):
            raise MessageError(message("settings.rule.range", low=low, high=high) if high is not None
                               else message("settings.rule.at_least", low=low))
    elif kind is tuple:
        items = raw.split(",") if from_text else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise broken
        value = tuple(i.strip() for i in items if i.strip())
    else:
        if not isinstance(raw, str):
            raise broken
        value = kind(raw)
    return value


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings a TOML file sets; a :class:`SettingsError` for a missing, unreadable or unsafe file or an unknown
    key."""
    try:
        values = tomllib.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise SettingsError(message("settings.file_missing", path=str(path), variable=CONFIG_VARIABLE)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(message("settings.file_unreadable", path=str(path), detail=str(exc))) from None
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise SettingsError(message("settings.unknown_keys", path=str(path), keys=unknown))
    secret = sorted(SECRETS & set(values))
    mode = path.stat().st_mode & 0o777
    if secret and mode & 0o077:
        raise SettingsError(message("settings.secret_readable", path=str(path), names=secret, mode=f"{mode:o}",
                                    command="chmod 600"))
    return values


@lru_cache(maxsize=8)
def _load(environment: tuple[tuple[str, str], ...], file_stamp: tuple[str, int, int] | None) -> Settings:
    path = config_path()
    from_file = read_config_file(path) if path is not None else {}
    from_environment = {k.removeprefix(PREFIX).lower(): v for k, v in environment if v}
    chosen: dict[str, Any] = {}
    for name in FIELDS:
        where: Message
        if name in from_environment:
            raw, from_text = from_environment[name], True
            where = message("settings.where.environment", variable=variable(name))
        elif name in from_file:
            raw, from_text = from_file[name], False
            where = message("settings.where.file", name=name, path=str(path))
        else:
            continue
        try:
            chosen[name] = _convert(name, raw, from_text)
        except MessageError as exc:
            shown = "" if name in SECRETS else f"={raw!r}"  # a secret is never repeated, even a wrong one
            raise SettingsError(message("settings.bad", where=where, value=shown, rule=exc.text)) from None
    return Settings(**chosen)


def settings() -> Settings:
    """The settings in force now (read again only when a ``JINEF_`` variable or the TOML file changed); a
    :class:`SettingsError` names a bad one."""
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    path = config_path()
    stamp = None
    if path is not None:
        try:
            st = path.stat()
            stamp = (str(path), st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = (str(path), -1, -1)  # missing: reading it says so
    return _load(environment, stamp)


def export_file_settings() -> set[str]:
    """Put the TOML file's values into the environment where it has none, for what reads the environment itself
    (command-line options with an environment variable, and the service's worker processes); the names put."""
    path = config_path()
    if path is None:
        return set()
    current = settings()  # checks the file and every value first
    exported = set()
    for name in read_config_file(path):
        var = variable(name)
        if os.environ.get(var):
            continue  # the environment wins
        os.environ[var] = as_text(getattr(current, name))
        exported.add(name)
    return exported


def as_text(value: Any) -> str:
    """A setting's value as its environment variable would say it (a secret revealed: for the environment only)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Secret):
        return value.reveal()
    if isinstance(value, tuple):
        return ",".join(value)
    return "" if value is None else str(value)
