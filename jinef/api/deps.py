"""What every router shares: the per-worker service state, the request context, errors, and auth.

A router gets the caller with ``Depends(require_scope("lookup"))``; the dependency checks the key,
the scope and the organisation's quota, and records the organisation for the audit log.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from jinef.api.access_log import AccessLog
from jinef.api.audit import AuditWriter
from jinef.api.servicedb import Principal, ServiceStore, hash_key
from jinef.common.config import RegistryLocation
from jinef.common.messages import DEFAULT_LANGUAGE, Language, Message, message
from jinef.image.folder import current_generation
from jinef.read.geo.reverse import ReverseGeocoder
from jinef.read.geocode.autocomplete import Autocompleter
from jinef.read.geocode.geocoder import Geocoder
from jinef.read.registry.address_json import AddressJson
from jinef.read.registry.address_table import AddressSource
from jinef.read.registry.overlay import FeedGap, OverlaidJson
from jinef.read.registry.registry import Registry
from jinef.read.verify import VerifyHub
from jinef.write.edit.feed import ChangeFeed

if TYPE_CHECKING:
    from jinef.api.edits import Edits

log = logging.getLogger("jinef.api")


class ApiError(Exception):
    """An error answered to the client: status, a stable code, a catalogue message and optional details.

    The message is shown in the language the client asked for when the answer is written; so are messages among
    the details (a list of them too).
    """

    def __init__(self, status: int, code: str, text: Message, *, details: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(text.text("en"))
        self.status = status
        self.code = code
        self.text = text
        self.details = details or {}
        self.headers = headers or {}

    @property
    def message(self) -> str:
        """The message in English."""
        return self.text.text("en")


@dataclass(slots=True)
class RequestContext:
    """Per-request facts the audit log needs, filled in as the request goes through the app."""

    request_id: str
    start: float
    endpoint: str | None = None
    org: str | None = None
    key_id: int | None = None
    items: int = 0
    outcome: str | None = None
    language: Language = DEFAULT_LANGUAGE  # of the answer's messages, from Accept-Language
    extra: dict[str, Any] = field(default_factory=dict)


class KeyCache:
    """Principals by key hash for a few seconds, so a request costs no key query (revocation lag = ttl)."""

    def __init__(self, store: ServiceStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    def principal(self, key: str) -> Principal | None:
        """The principal for ``key`` or None (unknown or revoked)."""
        if self.ttl <= 0:
            return self.store.find_principal(key)
        h = hash_key(key)
        now = time.monotonic()
        hit = self._cache.get(h)
        if hit is not None and hit[1] > now:
            return hit[0]
        if len(self._cache) > 10_000:  # bounded: random bad keys cannot grow it forever
            self._cache.clear()
        p = self.store.find_principal(key)
        self._cache[h] = (p, now + self.ttl)
        return p


class QuotaLeases:
    """Tokens a worker has taken ahead from its organisations' shared buckets.

    A worker takes a small lease (1/20 s of the rate, at most a quarter of the burst) in one atomic
    UPDATE and spends it locally, so a busy organisation costs one shared write per lease instead of
    one per request. The shared bucket still bounds the total across workers; for small rates the
    lease is one token, which is exact.
    """

    def __init__(self, store: ServiceStore) -> None:
        self.store = store
        self._local: dict[int, float] = {}

    def take(self, org_id: int, rate: float, cost: float = 1.0, credit: float = 0.0) -> float:
        """0 when ``cost`` items may go ahead, else the seconds to wait (a batch is one take of its items;
        ``credit``: see :meth:`ServiceStore.take_token`)."""
        have = self._local.get(org_id, 0.0)
        if have >= cost:
            self._local[org_id] = have - cost
            return 0.0
        if cost > 1.0:
            return self.store.take_token(org_id, cost, credit)
        lease = max(1.0, min(rate / 20.0, max(1.0, rate) / 4.0))
        if lease > 1.0 and self.store.take_token(org_id, lease) == 0.0:
            self._local[org_id] = have + lease - 1.0
            return 0.0
        return self.store.take_token(org_id, 1.0)


class RegistryHandle:
    """The registry's read image, switched to a newly published generation between requests.

    Every ``check_every`` seconds :meth:`get` reads where the image's ``current`` link points (one
    ``readlink``). A new generation is opened and warmed in a background thread while requests keep being
    answered from the old one; the swap is one assignment, so a request that holds a :class:`Registry` reads
    one generation from start to end.
    """

    def __init__(self, location: RegistryLocation, check_every: float = 1.0, warm: bool = False,
                 follow_every: float | None = 0.25) -> None:
        self.location = location
        self.root = location.image_root
        self.check_every = check_every
        self.warm = warm
        self._registry = Registry.open(self.root)
        self._generation = current_generation(self.root)
        self._checked = time.monotonic()
        self._switching: str | None = None
        # The change feed: edits since the image, applied on top of it (see jinef.read.registry.overlay).
        self.feed = ChangeFeed(location)
        self._stop = threading.Event()
        if follow_every is not None:
            threading.Thread(target=self._follow, args=(follow_every,), name="jinef-feed", daemon=True).start()

    def catch_up(self, registry: Registry | None = None) -> int:
        """Apply the changes committed since ``registry`` (default: the current one) last applied; its last seq."""
        registry = registry or self._registry
        while True:
            generation, changes = self.feed.read(registry.overlay.seq, 5000)
            if generation != registry.image.manifest.get("registry_generation") or not changes:
                return registry.overlay.seq  # nothing new, or another registry whose image is on its way
            try:
                registry.apply_changes(changes)
            except FeedGap:
                log.warning("change feed out of order after %s; reading again", registry.overlay.seq)
            if len(changes) < 5000:
                return registry.overlay.seq

    def _follow(self, every: float) -> None:
        while not self._stop.wait(every):
            try:
                self.catch_up()
            except Exception:  # the store briefly unavailable (a replace, a restart): the next poll tries again
                log.debug("following the change feed failed", exc_info=True)

    def get(self) -> Registry:
        """The current registry (cheap; reads the ``current`` link at most once a ``check_every``)."""
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            generation = current_generation(self.root)
            if generation is not None and generation != self._generation and self._switching != generation:
                self._switching = generation
                threading.Thread(target=self._switch, args=(generation,), name="jinef-switch", daemon=True).start()
        return self._registry

    def _switch(self, generation: str) -> None:
        try:
            new = Registry.open(self.root / generation)
            if self.warm:
                warm_registry(new)
            self.catch_up(new)
            self._registry, self._generation = new, generation
        except Exception:  # a generation removed meanwhile, or unreadable: the next check tries the current one
            log.exception("switching to read image generation %s failed", generation)
        finally:
            self._switching = None

    def close(self) -> None:
        """Stop following the change feed (the image's maps go with the objects)."""
        self._stop.set()
        self.feed.close()


def warm_registry(registry: Registry) -> None:
    """Make every answering structure of ``registry`` now and fault its hot pages in, so no caller waits."""
    registry.warm()
    # They live as long as the worker: keep their objects out of the collector's scans, which otherwise show up
    # as the slowest percentile of single queries.
    gc.freeze()


T = TypeVar("T")


class PerRegistry(Generic[T]):
    """One answering structure of the current registry (``registry.<name>``), made on first use.

    Making one from the mapped image takes milliseconds to a second (the admin polygons are prepared); a
    request never waits for it on the event loop.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def ready(self, registry: Registry) -> T | None:
        """The structure when already made for ``registry``, else None."""
        value: T | None = registry.__dict__.get(self.name)
        return value

    def get(self, registry: Registry) -> T:
        """The structure for ``registry``, made if needed."""
        value: T = getattr(registry, self.name)
        return value

    async def aget(self, registry: Registry) -> T:
        """:meth:`get` from a request handler: made in a thread, a hit costs nothing."""
        value = self.ready(registry)
        return value if value is not None else await asyncio.to_thread(self.get, registry)


@dataclass(slots=True)
class ServiceState:
    """Everything one worker process holds: registry (read image), service store, key cache, audit writer."""

    registry: RegistryHandle
    store: ServiceStore
    keys: KeyCache
    quota: QuotaLeases
    audit: AuditWriter
    max_body: int
    max_batch: int
    max_upload: int  # bytes of a CSV file sent to be geocoded (jinef.api.routers.csv_files)
    hub: VerifyHub | None = None  # the verification hub: one per worker, opened at startup
    edits: Edits | None = None  # the worker's registry editor, opened on first use
    hot_paths: bool = True  # postcode lookups answered by jinef.api.hot_paths rather than their FastAPI routes
    access_log: AccessLog | None = None  # one JSON line per request, when the operator asks for it
    worker: int = field(default_factory=os.getpid)
    reverse: PerRegistry[ReverseGeocoder] = field(default_factory=lambda: PerRegistry("reverse"))
    autocomplete: PerRegistry[Autocompleter] = field(default_factory=lambda: PerRegistry("autocomplete"))
    geocoder: PerRegistry[Geocoder] = field(default_factory=lambda: PerRegistry("geocoder"))

    def address_source(self) -> AddressSource:
        """Where postcode lookups are answered: the current image's address table."""
        return self.registry.get().source

    def unit_json_source(self) -> AddressJson | OverlaidJson:
        """Where batch answers get their units' JSON: written from the current image's table (and its changes)."""
        return self.registry.get().unit_json


def service(request: Request) -> ServiceState:
    """The worker's :class:`ServiceState`."""
    state: ServiceState = request.app.state.service
    return state


def context(request: Request) -> RequestContext:
    """The request's :class:`RequestContext` (set by the service middleware)."""
    ctx: RequestContext = request.scope["jinef"]
    return ctx


def authorize(request: Request, key: str | None, scope: str | tuple[str, ...], cost: int = 1) -> Principal:
    """Check a key, its scope (any of several) and the quota for ``cost`` items; raise :class:`ApiError` when
    refused."""
    return check_key(service(request), context(request), key, scope, cost)


def check_key(state: ServiceState, ctx: RequestContext, key: str | None, scope: str | tuple[str, ...],
              cost: int = 1) -> Principal:
    """:func:`authorize` for callers that hold the state and context rather than a Starlette request."""
    if not key:
        raise ApiError(401, "missing_key", message("api.missing_key"),
                       headers={"WWW-Authenticate": "ApiKey"})
    principal = state.keys.principal(key)
    if principal is None:
        raise ApiError(401, "invalid_key", message("api.invalid_key"),
                       headers={"WWW-Authenticate": "ApiKey"})
    ctx.org, ctx.key_id = principal.org, principal.key_id
    wanted = (scope,) if isinstance(scope, str) else scope
    if principal.scopes.isdisjoint(wanted):
        raise ApiError(403, "scope_denied", message("api.scope_denied", scopes=list(wanted)))
    if principal.rate is not None:
        _charge(state, principal, cost)
    return principal


def charge_items(state: ServiceState, principal: Principal, items: int) -> None:
    """Charge a batch's items beyond the one its key check already took (429 with Retry-After when over quota).

    A batch costs one quota unit per item, as its items would cost asked one by one. Routes whose key comes in a
    header check it in a dependency before the body is parsed (so a bad key is a 401 before a bad body's 422),
    which takes one unit; the route then charges the rest here, once it knows how many items there are. The
    hot path (:mod:`jinef.api.hot_paths`) makes the same two calls, so both paths charge the same.
    """
    if principal.rate is not None and items > 1:
        _charge(state, principal, items - 1, credit=1)


def _charge(state: ServiceState, principal: Principal, cost: int, credit: int = 0) -> None:
    assert principal.rate is not None
    wait = state.quota.take(principal.org_id, principal.rate, float(cost), float(credit))
    if wait > 0:
        retry = max(1, math.ceil(wait))
        text = (message("api.rate_limited", org=principal.org, retry=retry) if cost + credit <= 1 else
                message("api.rate_limited_items", org=principal.org, items=cost + credit, retry=retry))
        raise ApiError(429, "rate_limited", text, headers={"Retry-After": str(retry)})


# The key as an OpenAPI security scheme (Swagger's "Authorize" button), declared here where keys are checked, so
# every route that asks for a scope declares it. auto_error off: a missing key is our own 401 with its code.
API_KEY = APIKeyHeader(name="X-API-Key", scheme_name="ApiKey", auto_error=False,
                       description="An organisation's API key (`jinef keys create --org NAME --scopes lookup,…`); "
                                   "each operation says which scope it needs.")


def require_scope(*scopes: str) -> Any:
    """A dependency that admits only keys holding one of ``scopes`` and within their quota."""

    # The scopes ride on the security requirement, so the OpenAPI document can say which admit a key.
    async def dependency(request: Request, x_api_key: str | None = Security(API_KEY, scopes=list(scopes))) -> Principal:
        return authorize(request, x_api_key, scopes)

    return Depends(dependency)
