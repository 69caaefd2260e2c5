"""The app factory: routers, the service middleware (request id, body limit, audit), error handlers.

``create_app(registry_path, service_db_path)`` builds one app; uvicorn workers call
:func:`app_from_env` (``factory=True``), which reads the paths from ``JINEF_DB`` / ``JINEF_SERVICE_DB``.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import jinef
from jinef.api import gnaf, hot_paths, openapi_document, strict_input, validation_errors
from jinef.api.access_log import open_access_log
from jinef.api.audit import AuditWriter
from jinef.api.cross_origin import CORSMiddleware, cors_options
from jinef.api.deps import (
    ApiError,
    KeyCache,
    QuotaLeases,
    RegistryHandle,
    RequestContext,
    ServiceState,
    context,
    warm_registry,
)
from jinef.api.responses import JSONResponse
from jinef.api.routers import (
    autocomplete,
    building_requests,
    certificates,
    csv_files,
    docs,
    geocode,
    postcodes,
    registry_changes,
    reverse,
    system,
    web,
)
from jinef.api.routers import dashboard as dashboard_router
from jinef.api.routers import gnaf as gnaf_router
from jinef.api.routers import verify as verify_router
from jinef.api.schemas import MAX_BATCH
from jinef.api.servicedb import AuditRecord, open_store
from jinef.common import messages
from jinef.common.config import RegistryLocation, store_target
from jinef.common.messages import DEFAULT_LANGUAGE, Language, negotiate
from jinef.common.settings import DEFAULTS, settings
from jinef.read.verify import DEFAULT_PURPOSES, SmsGateway, VerifyConfig, VerifyHub
from jinef.read.verify.sms import HttpSmsGateway

log = logging.getLogger("jinef.api")

DEFAULT_MAX_BODY = DEFAULTS.max_body  # bytes: a 1,000-row GNAF batch is about 50 KB
DEFAULT_ROUTERS: tuple[APIRouter, ...] = (system.router, postcodes.router, gnaf_router.router, reverse.router,
                                          autocomplete.router, geocode.router, web.router, gnaf_router.match_router,
                                          verify_router.router, registry_changes.router, building_requests.router,
                                          certificates.router)
DEFAULT_ROUTERS += (dashboard_router.router, dashboard_router.page_router)  # the provinces' dashboard
DEFAULT_ROUTERS += (docs.router,)  # /docs and /redoc from vendored assets (FastAPI's own load them from a CDN)
DEFAULT_ROUTERS += (csv_files.router,)  # CSV files geocoded over HTTP
DEFAULT_MAX_UPLOAD = DEFAULTS.max_upload  # bytes: see the setting's meaning (jinef.common.settings)

_OUTCOMES = {200: "ok", 400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
             405: "bad_method", 409: "conflict", 410: "gone", 413: "too_large", 422: "invalid",
             429: "rate_limited", 503: "unavailable"}



_ID_PREFIX = uuid.uuid4().hex[:16]  # random once per process: ids stay unguessable across workers and restarts
_ID_COUNTER = itertools.count(1)


def next_request_id() -> str:
    """A unique request id; a counter after a per-process random prefix (os.urandom per request was slow here)."""
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


class BodyTooLargeError(HTTPException):
    """The request body is over the limit (an HTTPException so FastAPI's body reader lets it through)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, messages.message("api.body_too_large", limit=limit).text("en"))
        self.limit = limit


def _worker_id() -> bytes:
    return str(os.getpid()).encode()


# Which worker process answered (operators tracing a request; tests checking every worker sees a change).
_WORKER = _worker_id()


def _is_gnaf(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith("/gnaf/")


def error_payload(scope: Scope, exc: ApiError) -> dict[str, Any]:
    """The error body in the client's language: the v1 shape, or a failed GNAF envelope under ``/gnaf/``."""
    ctx: RequestContext | None = scope.get("jinef")
    language = ctx.language if ctx else DEFAULT_LANGUAGE
    if _is_gnaf(scope):
        return gnaf.envelope_error(gnaf.RES_BY_STATUS.get(exc.status, gnaf.RES_BAD_REQUEST), exc.text.text(language))
    body: dict[str, Any] = {"status": exc.status, "code": exc.code, "message": exc.text.text(language),
                            "request_id": ctx.request_id if ctx else None}
    body.update(_in_language(exc.details, language))
    return {"error": body}


def _in_language(value: Any, language: Language) -> Any:
    """``value`` with every message in it (in lists and objects too) shown in ``language``."""
    if isinstance(value, messages.Message):
        return value.text(language)
    if isinstance(value, list):
        return [_in_language(v, language) for v in value]
    if isinstance(value, dict):
        return {k: _in_language(v, language) for k, v in value.items()}
    return value


def error_response(scope: Scope, exc: ApiError) -> JSONResponse:
    """A JSON error response for ``exc``."""
    return JSONResponse(error_payload(scope, exc), status_code=exc.status, headers=exc.headers)


class ServiceMiddleware:
    """Outermost layer: request id, body size limit, last-resort 500, and one audit record per call."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: ServiceState = self.fastapi_app.state.service
        ctx = RequestContext(request_id=next_request_id(), start=time.perf_counter(),
                             language=negotiate(_header_value(scope, b"accept-language")))
        scope["jinef"] = ctx
        status = 500
        started = False  # the response start has gone to the client
        audited = False
        held: Message | None = None  # the response start, held until the call's audit record is committed
        rid = ctx.request_id.encode()

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started, audited, held
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid), (b"x-jinef-worker", _WORKER)]
                held = message
                return
            if held is not None:
                start, held = held, None
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    # A whole answer in one message (every JSON answer): the client gets it only once its audit
                    # record is committed, so a call that was answered is a call that is recorded.
                    audited = True
                    try:
                        await self._audit(scope, ctx, status, state)
                    except Exception:
                        log.exception("the call audit could not be written (request %s)", ctx.request_id)
                        status = 503
                        refused = ApiError(503, "audit_unavailable",
                                           messages.message("api.audit_unavailable", request_id=ctx.request_id))
                        start, message = _response_messages(error_response(scope, refused), rid)
                started = True
                await send(start)
            await send(message)

        upload = scope.get("path") in csv_files.UPLOAD_PATHS
        limit = state.max_upload if upload else state.max_body
        received = 0
        whole = False  # the body has been handed over in one piece
        json_body = strict_input.is_json(_header_value(scope, b"content-type"))

        async def receive_limited() -> Message:
            # The whole body (at most max_body bytes) in one message: a JSON one is checked for text that is not
            # Unicode first, so the hot paths and FastAPI both get clean text or neither answers.
            nonlocal received, whole
            if whole:
                return await receive()
            if upload:  # a file: passed on piece by piece (the form parser spools it to disk), only counted
                message = await receive()
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLargeError(limit)
                return message
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message  # a disconnect before the body was whole
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    raise BodyTooLargeError(limit)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            whole = True
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if json_body and body:
                bad = strict_input.check_json_body(body)
                if bad is not None:
                    raise strict_input.InvalidTextError(bad)
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            length = _content_length(scope)
            if length is not None and length > limit:
                too_large = ApiError(413, "body_too_large", messages.message("api.body_too_large", limit=limit))
                await error_response(scope, too_large)(scope, receive, send_wrapper)
            elif state.hot_paths and hot_paths.takes(scope):
                await hot_paths.answer(state, ctx, scope, receive_limited, send_wrapper,
                                       lambda receive: self.app(scope, receive, send_wrapper))
            else:
                await self.app(scope, receive_limited, send_wrapper)
        except Exception as exc:
            # Never a stack trace to the client: log it here, answer a plain 500 with the request id.
            if isinstance(exc, ApiError):
                err = exc
            elif isinstance(exc, strict_input.InvalidTextError):
                err = exc.error
            elif isinstance(exc, BodyTooLargeError):
                err = ApiError(413, "body_too_large", messages.message("api.body_too_large", limit=exc.limit))
            else:
                log.exception("unhandled error in request %s", ctx.request_id)
                err = ApiError(500, "internal_error", messages.message("api.internal_error", request_id=ctx.request_id))
            if not started:
                held = None
                await error_response(scope, err)(scope, receive, send_wrapper)
            status = err.status
        finally:
            if not audited:  # streamed answers (static files), or no answer at all: recorded after the fact
                try:
                    await self._audit(scope, ctx, status, state)
                except Exception:
                    log.exception("the call audit could not be written (request %s)", ctx.request_id)

    async def _audit(self, scope: Scope, ctx: RequestContext, status: int, state: ServiceState) -> None:
        endpoint = ctx.endpoint or self._route_path(scope)
        outcome = ctx.outcome if status < 400 and ctx.outcome else _OUTCOMES.get(status, "error")
        record = AuditRecord(
            ts=time.time(), request_id=ctx.request_id, worker=state.worker, org=ctx.org or "-",
            key_id=ctx.key_id, method=str(scope.get("method", "")), endpoint=endpoint, items=ctx.items,
            status=status, outcome=outcome, latency_ms=round((time.perf_counter() - ctx.start) * 1000.0, 3))
        if state.access_log is not None:
            state.access_log.write(record)
        await state.audit.record(record)

    @staticmethod
    def _route_path(scope: Scope) -> str:
        """The route template (never the raw path: it could hold a postcode; keeps metric labels bounded)."""
        return str(getattr(scope.get("route"), "path", None) or "unmatched")


def _response_messages(response: JSONResponse, rid: bytes) -> tuple[Message, Message]:
    """The start and body messages of a whole response, with the request id header."""
    headers = [*response.raw_headers, (b"x-request-id", rid), (b"x-jinef-worker", _WORKER)]
    return ({"type": "http.response.start", "status": response.status_code, "headers": headers},
            {"type": "http.response.body", "body": response.body, "more_body": False})


def _header_value(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers", ()):
        if k == name:
            return str(v.decode("latin-1"))
    return None


def _content_length(scope: Scope) -> int | None:
    for k, v in scope.get("headers", ()):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None


_HTTP_CODES = {404: "no_such_endpoint", 405: "method_not_allowed", 413: "body_too_large"}
_HTTP_MESSAGES = {404: messages.message("api.no_such_endpoint"), 405: messages.message("api.method_not_allowed")}


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(request.scope, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        gnaf_call = _is_gnaf(request.scope)
        err = validation_errors.api_error(exc.errors(), gnaf.MAX_ROWS if gnaf_call else MAX_BATCH,
                                          "json" in request.headers.get("content-type", ""))
        if gnaf_call and err.code == "batch_too_long":
            text = err.text.text(context(request).language)
            return JSONResponse(gnaf.envelope_error(gnaf.RES_TOO_MANY_ROWS, text), status_code=422)
        return error_response(request.scope, err)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc, strict_input.InvalidTextError):
            return error_response(request.scope, exc.error)
        if isinstance(exc, BodyTooLargeError):
            text = messages.message("api.body_too_large", limit=exc.limit)
        else:
            text = _HTTP_MESSAGES.get(exc.status_code) or messages.message("api.http_error", status=exc.status_code)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return error_response(request.scope, ApiError(exc.status_code, code, text, headers=dict(exc.headers or {})))



def default_verify_config() -> VerifyConfig:
    """The hub's configuration behind the API: defaults, plus the purpose GNAF clients get when they send none."""
    return VerifyConfig(purposes=DEFAULT_PURPOSES | {gnaf.MATCH_DEFAULT_PURPOSE})


def open_hub(reg: RegistryHandle, path: str | Path, *, key_path: str | os.PathLike[str] | None = None,
             config: VerifyConfig | None = None, gateway: SmsGateway | None = None,
             clock: Callable[[], datetime] | None = None, dev_sms_outbox: bool = False) -> VerifyHub:
    """This worker's hub on the verification database, asking the (reopened-on-rebuild) registry for status.

    Texts go to ``gateway``; with none, to the development outbox only when ``dev_sms_outbox`` says so, else
    nothing that needs a one-time code can be started (``sms_unavailable``).
    """
    config = config or default_verify_config()
    if dev_sms_outbox:
        config = dataclasses.replace(config, dev_sms_outbox=True)

    def postcode_status(postcode: str) -> str | None:
        # Asked on every match against a verified link: the status alone, not the whole address.
        return reg.get().status(postcode)

    return VerifyHub.open(path, postcode_status, key_path=Path(key_path) if key_path else None,
                          config=config, gateway=gateway, clock=clock)


def create_app(registry_path: str | os.PathLike[str] | RegistryLocation | None = None,
               service_db: str | os.PathLike[str] | None = None, *,
               max_body: int = DEFAULT_MAX_BODY, max_upload: int = DEFAULT_MAX_UPLOAD, key_cache_ttl: float = 2.0,
               routers: Iterable[APIRouter] = DEFAULT_ROUTERS, warm: bool = False,
               verify_db: str | os.PathLike[str] | None = None, verify_key: str | os.PathLike[str] | None = None,
               verify_config: VerifyConfig | None = None, sms_gateway: SmsGateway | None = None,
               verify_clock: Callable[[], datetime] | None = None, hot: bool = True,
               dev_sms_outbox: bool = False, access_log: str | None = None,
               cors_origins: Sequence[str] = ()) -> FastAPI:
    """Build the HTTP service over the registry at ``registry_path``, with the service and hub DBs beside it.

    The in-memory indexes (reverse geocoder, autocompleter, geocoder, basemap) are built on first use; with
    ``warm`` a background thread builds them at startup instead, so no first caller waits seconds. ``hot``
    answers the postcode lookups from :mod:`jinef.api.hot_paths` (off: through their FastAPI routes).
    ``access_log``: ``-`` or a file for one JSON line per request; ``cors_origins``: web origins whose pages may
    call the API (none by default).
    """
    location = RegistryLocation.of(registry_path)
    # A file each beside a file registry; schemas of the registry's database for PostgreSQL (shared by replicas).
    svc_target = store_target(service_db, location.service_target)
    hub_target = store_target(verify_db, location.verify_target)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            threading.Thread(target=warm_up, args=(app.state.service,), name="jinef-warm", daemon=True).start()
        yield
        # Graceful stop: every audit record queued by this worker is written before exit.
        state: ServiceState = app.state.service
        state.audit.close()
        if state.access_log is not None:
            state.access_log.close()
        if state.hub is not None:
            state.hub.close()
        state.store.close()
        if state.edits is not None:
            state.edits.close()
        state.registry.close()

    app = FastAPI(title="Jinef national address service", version=jinef.__version__, lifespan=lifespan,
                  default_response_class=JSONResponse, docs_url=None, redoc_url=None,
                  description="Postcode lookup and validation over Iran's national geocoded address file, "
                              "with GNAF-compatible batch endpoints, reverse geocoding and autocomplete. Every "
                              "endpoint except /healthz, the search page (/) and the basemap needs an organisation "
                              "key (X-API-Key header, or Signature in a GNAF envelope).")
    store = open_store(svc_target)
    registry = RegistryHandle(location, warm=warm)
    # One hub per worker, opened now (not on first use) so a bad key ring stops the worker at startup.
    hub = open_hub(registry, hub_target, key_path=verify_key, config=verify_config, gateway=sms_gateway,
                   clock=verify_clock, dev_sms_outbox=dev_sms_outbox)
    app.state.service = ServiceState(
        registry=registry, store=store, keys=KeyCache(store, key_cache_ttl), quota=QuotaLeases(store),
        audit=AuditWriter(store), max_body=max_body, max_batch=MAX_BATCH, max_upload=max_upload, hub=hub,
        hot_paths=hot, access_log=open_access_log(access_log))
    # The dashboard reads the hub's and service's figures where they live (files or PostgreSQL schemas).
    app.state.dashboard_sources = (hub_target, svc_target)
    for r in routers:
        app.include_router(r)
    app.mount("/static", web.Static(directory=web.STATIC_DIR), name="static")
    openapi_document.install(app)
    _install_handlers(app)
    app.add_middleware(ServiceMiddleware, fastapi_app=app)
    if cors_origins:  # outermost, so that every answer (the service's own errors too) carries the CORS headers
        app.add_middleware(CORSMiddleware, **cors_options(cors_origins))
    return app


def warm_up(state: ServiceState) -> None:
    """Make this worker's answering structures now (runs in a background thread; failures only logged)."""
    try:
        warm_registry(state.registry.get())
    except Exception:
        log.exception("warming the indexes failed; they will be made on first use")


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers, from the settings (:mod:`jinef.common.settings`): paths from ``JINEF_DB``,
    ``JINEF_SERVICE_DB``, ``JINEF_VERIFY_DB``; warm-up from ``JINEF_WARM``; SMS from ``JINEF_SMS_GATEWAY_URL``
    (+ ``JINEF_SMS_GATEWAY_TOKEN``) or, for development only, ``JINEF_DEV_SMS_OUTBOX=1``."""
    s = settings()
    token = s.sms_gateway_token.reveal() if s.sms_gateway_token else None
    gateway = HttpSmsGateway(s.sms_gateway_url, token) if s.sms_gateway_url else None
    return create_app(s.db, s.service_db, max_body=s.max_body, max_upload=s.max_upload, warm=s.warm,
                      verify_db=s.verify_db, verify_key=s.verify_key_file, sms_gateway=gateway,
                      dev_sms_outbox=s.dev_sms_outbox, access_log=s.access_log, cors_origins=s.cors_origins)
