"""Every setting of Jinef in one object: its environment variable, its default and what it means.

A setting comes from, first to last: the environment (``JINEF_<NAME>``; an empty value counts as unset), the TOML
file that ``JINEF_CONFIG`` (or ``jinef --config FILE``) names (``<name> = value``, lower case, no sections), the
default. :func:`settings` reads them afresh whenever the environment or the file changed, so a test or `jinef serve`
that sets a variable is seen at once. ``docs/configuration.md`` is generated from this class (`jinef settings
--markdown`); a test keeps the two equal and checks that every ``JINEF_`` variable named in the code is declared here.

A file that holds a secret (the hub's key ring, the SMS gateway's token) must be readable by its owner only (0600).
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

PREFIX = "JINEF_"
CONFIG_VARIABLE = "JINEF_CONFIG"  # names the TOML file; not a setting itself (a file cannot name another file)


class SettingsError(ValueError):
    """A setting that cannot be used: which variable or file key, what was wrong (Persian, then English)."""


def _setting(default: Any, meaning: str, group: str) -> Any:
    return Field(default, description=meaning, json_schema_extra={"group": group})


REGISTRY, SERVICE, HUB, DATA, OPERATIONS = ("The registry and its files", "The HTTP service",
                                            "The verification hub", "Reference data and caches",
                                            "Logs and browsers")


class Settings(BaseSettings):
    """Jinef's settings: the environment, else the TOML file named by ``JINEF_CONFIG``, else these defaults."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="forbid", frozen=True)

    db: str = _setting("var/registry.sqlite", "The registry: a SQLite file or a `postgresql://` URL (`?schema=` "
                       "included). `--db` overrides it.", REGISTRY)
    image_dir: Path | None = _setting(None, "The read image's folder. Unset: beside a SQLite registry "
                                      "(`registry.image`), or `<state_dir>/images/<host>-<database>-<schema>` for "
                                      "PostgreSQL.", REGISTRY)
    state_dir: Path = _setting(Path("var"), "Where what belongs to a PostgreSQL registry lives on this host (its "
                               "read image, the service databases).", REGISTRY)
    service_db: str | None = _setting(None, "The service database (keys, organisations, quotas, call audit). "
                                      "Unset: beside the registry, `<stem>.service.sqlite`.", REGISTRY)
    certificate_keys: Path | None = _setting(None, "The postcode certificates' signing keys folder. Unset: beside "
                                             "the registry, `<stem>.certificate-keys`.", REGISTRY)
    max_shrink: float = _setting(0.1, "The share by which a replacing `jinef import` may shrink the registry "
                                 "(0 to 1; `--max-shrink` overrides it).", REGISTRY)

    max_body: int = _setting(256 * 1024, "Largest request body in bytes (413 beyond; a 1,000-row GNAF batch is "
                             "about 50 KB).", SERVICE)
    warm: bool = _setting(False, "Make every answering structure at start-up, in the background, rather than on "
                          "first use (`jinef serve --warm`).", SERVICE)
    header_timeout: float = _setting(10.0, "Seconds a request's line and headers may take to arrive (then 408 and "
                                     "close; 0: no limit).", SERVICE)
    body_timeout: float = _setting(30.0, "Seconds a request's body may take to arrive after its headers (then the "
                                   "connection is closed).", SERVICE)
    max_conns_per_client: int = _setting(1024, "Open connections one client address may hold per worker (0: no "
                                         "cap; behind a reverse proxy cap there and use 0).", SERVICE)
    max_connections: int | None = _setting(None, "Connections and requests a worker serves at once (beyond: 503). "
                                           "Unset: no limit.", SERVICE)
    fold_every: float = _setting(0.0, "Seconds between folding the registry's edits into a new read image (0: "
                                 "never; run `jinef index` yourself).", SERVICE)
    snapshot_every: float = _setting(0.0, "Seconds between dated snapshots of the dashboard's measures (0: never).",
                                     SERVICE)

    verify_db: str | None = _setting(None, "The verification hub's database. Unset: beside the registry, "
                                     "`<stem>.verify.sqlite`.", HUB)
    verify_key: SecretStr | None = _setting(None, "The hub's key ring itself (`<version>:<base64>` lines or `;`-"
                                            "separated). Unset: the file `verify_key_file`, else `verify.key` "
                                            "beside the hub's database (made 0600 on first use).", HUB)
    verify_key_file: Path | None = _setting(None, "A file holding the hub's key ring (mode 0600), for the HTTP "
                                            "service's workers.", HUB)
    sms_gateway_url: str | None = _setting(None, "The operator's SMS endpoint (JSON POST) for one-time codes. "
                                           "Unset and no `dev_sms_outbox`: verification requests are refused "
                                           "(503 sms_unavailable).", HUB)
    sms_gateway_token: SecretStr | None = _setting(None, "The bearer token sent to the SMS gateway.", HUB)
    dev_sms_outbox: bool = _setting(False, "Development only: texts go to the hub's sealed outbox table (read "
                                    "with `jinef outbox`) instead of an SMS gateway.", HUB)

    data: Path | None = _setting(None, "The reference data folder (divisions and boundaries). Unset: "
                                 "`../shared/data/iran` when it exists.", DATA)
    cache_dir: Path = _setting(Path("var") / "cache", "Where parsed reference data and other caches are kept.",
                               DATA)
    fetch_base: str = _setting("https://github.com", "Where `jinef data fetch` downloads the reference data from "
                               "(a mirror with the same paths).", DATA)

    access_log: str = _setting("", "One JSON line per HTTP request (time, request id, worker, method, route, "
                               "status, latency, organisation; never a key, a query or personal data): `-` for "
                               "standard error, a file path to append to (made 0600), empty for none.", OPERATIONS)
    cors_origins: Annotated[list[str], NoDecode] = _setting(
        [], "Web origins whose pages may call the API from a browser (CORS): comma-separated in the environment, a "
        "list in the file, `*` for any. Empty: none (browsers allow only this service's own pages).", OPERATIONS)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else value

    @field_validator("max_shrink")
    @classmethod
    def _a_share(cls, value: float) -> float:
        if not 0 <= value <= 1:
            raise ValueError("must be a number from 0 to 1")
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple[Any, ...]:
        """Explicit values, then the environment, then the TOML file (no .env files, no secrets folder)."""
        return init_settings, env_settings, _ConfigFile(settings_cls)


class _ConfigFile(PydanticBaseSettingsSource):
    """The TOML file ``JINEF_CONFIG`` names (nothing when unset)."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        """Unused: :meth:`__call__` hands every value over at once."""
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        """The file's values by setting name."""
        path = config_path()
        return dict(read_config_file(path)) if path is not None else {}


def variable(name: str) -> str:
    """The environment variable of setting ``name``."""
    return PREFIX + name.upper()


def config_path() -> Path | None:
    """The TOML file ``JINEF_CONFIG`` names, if any."""
    raw = os.environ.get(CONFIG_VARIABLE)
    return Path(raw) if raw else None


SECRETS = frozenset(n for n, f in Settings.model_fields.items() if f.annotation == SecretStr | None)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings a TOML file sets; a :class:`SettingsError` for a missing, unreadable or unsafe file or an unknown
    key."""
    try:
        text = path.read_bytes()
        values = tomllib.loads(text.decode("utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"پرونده تنظیمات {path} پیدا نشد / the configuration file {path} does not exist "
                            f"({CONFIG_VARIABLE} or --config)") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"پرونده تنظیمات {path} خوانا نیست / the configuration file {path} cannot be read: "
                            f"{exc}") from None
    unknown = sorted(set(values) - set(Settings.model_fields))
    if unknown:
        raise SettingsError(f"کلید ناشناخته در {path}: {', '.join(unknown)} / unknown setting in {path}: "
                            f"{', '.join(unknown)} (see docs/configuration.md)")
    secret = sorted(SECRETS & set(values))
    mode = path.stat().st_mode & 0o777
    if secret and mode & 0o077:
        raise SettingsError(f"پرونده {path} رمز دارد ({', '.join(secret)}) و دیگران می‌توانند آن را بخوانند؛ "
                            f"chmod 600 / {path} holds a secret ({', '.join(secret)}) and is readable by others "
                            f"(mode {mode:o}): chmod 600 it")
    return values


@lru_cache(maxsize=8)
def _load(environment: tuple[tuple[str, str], ...], file_stamp: tuple[str, int, int] | None) -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None


def _explain(exc: ValidationError) -> str:
    """Which setting, from where, and what is wrong, in Persian and English; a secret's value never repeated."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        var = variable(name)
        where = f"${var}" if os.environ.get(var) else f"{name} in {config_path()}"
        shown = "" if name in SECRETS else f"={error.get('input')!r}"
        lines.append(f"تنظیم نادرست {where}{shown}: {error['msg']} / bad setting {where}{shown}: {error['msg']}")
    return "; ".join(lines)


def settings() -> Settings:
    """The settings in force now (read again only when a ``JINEF_`` variable or the TOML file changed)."""
    environment = tuple(sorted((k, v) for k, v in os.environ.items() if k.upper().startswith(PREFIX)))
    path = config_path()
    stamp = None
    if path is not None:
        try:
            st = path.stat()
            stamp = (str(path), st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = (str(path), -1, -1)  # missing: Settings() says so
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
        os.environ[var] = _as_text(getattr(current, name))
        exported.add(name)
    return exported


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "" if value is None else str(value)
