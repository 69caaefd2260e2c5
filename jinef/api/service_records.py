"""What the service store keeps and hands out: API keys and the organisations behind them, and call records.

Shared by both engines of :class:`jinef.api.servicedb.ServiceStore` (``servicedb.py``, ``service_postgres.py``)
and by the queries they share (``service_sql.py``); ``servicedb`` re-exports every name, its home until then.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "jnf_"
# Scopes an organisation's key may hold; endpoints of other issues (geocode, reverse, match) use theirs.
# verify_request, field_agent and citizen are the verification workflow's (see jinef/api/routers/verify.py).
# registry_write and registry_read are the living registry's (jinef/api/routers/registry_changes.py);
# building_request, registry_survey and registry_approve its office workflow (jinef/api/routers/building_requests.py).
# stats reads the provinces' dashboard and plans sets its targets and takes snapshots (jinef/api/routers/dashboard.py).
KNOWN_SCOPES = ("lookup", "geocode", "reverse", "match", "verify_request", "field_agent", "citizen", "metrics",
                "admin", "registry_write", "registry_read", "building_request", "registry_survey", "registry_approve",
                "certificate", "stats", "plans")
# What an organisation is: the dashboard counts the lookups and matches served per type.
ORG_TYPES = ("bank", "operator", "insurer", "shop", "government", "postal", "other")
# Prometheus histogram buckets for request latency, in seconds.
LATENCY_BUCKETS: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def hash_key(key: str) -> str:
    """SHA-256 of a key: enough for a 256-bit random secret (no salt or slow hash needed)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> str:
    """A fresh high-entropy API key (256 random bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """One API key as listed (never the key itself)."""

    id: int
    prefix: str
    org: str
    scopes: tuple[str, ...]
    rate: float | None
    created: float
    revoked: float | None
    province: str | None = None  # the province code a provincial office's key acts in; None = national


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the organisation behind a valid key and what it may do."""

    key_id: int
    org_id: int
    org: str
    scopes: frozenset[str]
    rate: float | None  # items per second for the organisation (a call is one, a batch its rows); None = unlimited
    province: str | None = None  # a provincial office's key acts only in this province (code); None = national


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One call to the service, as recorded."""

    ts: float
    request_id: str
    worker: int
    org: str
    key_id: int | None
    method: str
    endpoint: str
    items: int
    status: int
    outcome: str
    latency_ms: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {f: getattr(self, f) for f in self.__slots__}


AUDIT_COLUMNS = AuditRecord.__slots__


def latency_bucket(seconds: float) -> int:
    """Index of the first histogram bucket that holds ``seconds`` (len(buckets) = +Inf)."""
    for i, le in enumerate(LATENCY_BUCKETS):
        if seconds <= le:
            return i
    return len(LATENCY_BUCKETS)
