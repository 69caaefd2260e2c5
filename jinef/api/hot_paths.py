"""The busiest endpoints answered straight from ASGI, without FastAPI's per-request machinery.

``GET /v1/postcodes/{postcode}``, ``POST /v1/postcodes/lookup`` and ``POST /v1/match`` are most of a
national address service's traffic. Through FastAPI each spent more time in routing and dependency resolution than in
the lookup itself (about 60% of a single lookup's CPU). Here the service middleware hands them to
the same answer functions the FastAPI routes call (:mod:`jinef.api.routers.postcodes`,
:mod:`jinef.api.routers.verify`) with the same
key check (:func:`jinef.api.deps.check_key`), so both paths give the same bytes; the FastAPI routes stay
as the documented definition (OpenAPI) and answer everything this module does not take: any body
that is not exactly the request model's shape (``{"postcodes": [1..MAX_BATCH strings]}``, the three
strings of a match) sent as JSON goes to FastAPI unchanged, so every validation error keeps its one
implementation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from jinef.api.deps import RequestContext, ServiceState, check_key
from jinef.api.responses import JSONResponse
from jinef.api.routers.postcodes import answer_lookup_many, answer_lookup_one
from jinef.api.routers.verify import MatchRequest, answer_match
from jinef.api.schemas import MAX_BATCH, MAX_POSTCODE_TEXT

Fallback = Callable[[Receive], Awaitable[None]]
_ONE_PREFIX = "/v1/postcodes/"
_BATCH_PATH = "/v1/postcodes/lookup"
_MATCH_PATH = "/v1/match"
# MatchRequest's fields and their length limits, read from the model so the two cannot drift apart.
_MATCH_LIMITS: dict[str, int] = {
    name: next(m.max_length for m in f.metadata if hasattr(m, "max_length"))
    for name, f in MatchRequest.model_fields.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope["headers"]:
        if k == name:
            return str(v.decode("latin-1"))
    return None


def takes(scope: Scope) -> bool:
    """True for a request this module answers (or hands back to FastAPI after reading its body)."""
    method, path = scope["method"], scope["path"]
    if scope.get("query_string"):  # parameters (format=geojson): the FastAPI route reads them
        return False
    if method == "GET":
        rest = path[len(_ONE_PREFIX):] if path.startswith(_ONE_PREFIX) else ""
        return bool(rest) and "/" not in rest
    return method == "POST" and (path == _BATCH_PATH or path == _MATCH_PATH)


async def answer(state: ServiceState, ctx: RequestContext, scope: Scope, receive: Receive, send: Send,
                 fallback: Fallback) -> None:
    """Answer a request :func:`takes` accepted; errors are raised as ``ApiError`` for the middleware."""
    if scope["method"] == "GET":
        ctx.endpoint = "/v1/postcodes/{postcode}"  # audited under the route's template, refused or not
        check_key(state, ctx, _header(scope, b"x-api-key"), "lookup")
        payload = answer_lookup_one(state, ctx, scope["path"][len(_ONE_PREFIX):])
        await JSONResponse(payload)(scope, receive, send)
        return
    body = await _read_body(receive)
    data = _json_object(scope, body)
    if scope["path"] == _MATCH_PATH:
        if data is None or not _is_match(data):
            await fallback(_replay(body, receive))
            return
        ctx.endpoint = _MATCH_PATH
        principal = check_key(state, ctx, _header(scope, b"x-api-key"), "match")
        payload = await answer_match(state, ctx, principal, data["national_code"], data["postcode"], data["purpose"])
        await JSONResponse(payload)(scope, receive, send)
        return
    postcodes = None if data is None else _batch_postcodes(data)
    if postcodes is None:
        await fallback(_replay(body, receive))
        return
    ctx.endpoint = _BATCH_PATH
    principal = check_key(state, ctx, _header(scope, b"x-api-key"), "lookup")
    await Response(answer_lookup_many(state, ctx, principal, postcodes), media_type="application/json")(
        scope, receive, send)


def _json_object(scope: Scope, body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object when sent as application/json, else None (FastAPI judges it)."""
    ctype = _header(scope, b"content-type")
    if ctype is None or ctype.split(";", 1)[0].strip().lower() != "application/json":
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data if type(data) is dict else None


def _is_match(data: dict[str, Any]) -> bool:
    """Exactly MatchRequest's fields, each a string within its length limit."""
    return len(data) == len(_MATCH_LIMITS) and all(
        type(data.get(k)) is str and len(data[k]) <= limit for k, limit in _MATCH_LIMITS.items())


def _batch_postcodes(data: dict[str, Any]) -> list[str] | None:
    """The postcodes of a well-formed batch body, or None for anything FastAPI should judge."""
    if len(data) != 1:
        return None
    postcodes = data.get("postcodes")
    if type(postcodes) is not list or not 1 <= len(postcodes) <= MAX_BATCH:
        return None
    if any(type(p) is not str or len(p) > MAX_POSTCODE_TEXT for p in postcodes):
        return None
    return postcodes


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the already-read body once, then defers to the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
