"""Address verification over HTTP: the Shahkar-style match, the «احراز نشانی» workflow, the citizen view.

A thin adapter on the worker's :class:`jinef.read.verify.VerifyHub`: each endpoint checks the key's
scope, calls the hub and maps a :class:`VerifyError` to its ``http_status`` with the usual error
body. Endpoints are plain ``def`` so the hub's blocking commits run in the thread pool; concurrent
single matches then share one audit commit (the hub's group commit).

Scopes: ``match`` (organisations asking yes/no), ``verify_request`` (the citizen portal, or an
organisation acting for a citizen: a request answers the same whatever links exist, and is counted
by the enumeration detector), ``field_agent`` (the postman's app: acts only on requests its own
organisation visits) and ``citizen`` (the citizen portal, for the own-addresses view).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from jinef.api.deps import ApiError, RequestContext, ServiceState, charge_items, context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.schemas import MAX_BATCH, ErrorResponse, Strict
from jinef.api.servicedb import Principal, hub_label
from jinef.common.messages import message
from jinef.read.verify import MatchQuery, MatchRefused, MatchResult, VerifyError, VerifyHub

router = APIRouter(tags=["verification"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 410, 413, 422, 429, 503)
}
# --- request and answer shapes -----------------------------------------------------------------


class MatchRequest(Strict):
    """Is ``postcode`` the verified address of ``national_code``?"""

    national_code: str = Field(max_length=32, description="Ten digits, any digit form")
    postcode: str = Field(max_length=32, description="Ten digits, any digit form")
    purpose: str = Field(max_length=64, description="Why the organisation asks (e.g. banking_kyc)")


class MatchAnswer(Strict):
    """Yes or no; a match also says the role and since when (a non-match says nothing else)."""

    matched: bool
    role: str | None = None
    verified_since: date | None = None
    trace_id: str


class MatchRow(Strict):
    """One row of a batch match."""

    row_id: int | None = None
    national_code: str = Field(max_length=32)
    postcode: str = Field(max_length=32)


class MatchBatchRequest(Strict):
    """Up to 1,000 pairs asked for one purpose."""

    purpose: str = Field(max_length=64)
    items: list[MatchRow] = Field(min_length=1, max_length=MAX_BATCH)


class VerificationRequest(Strict):
    """Open a verification: the citizen gets a one-time code by SMS, a field agent visits."""

    national_code: str = Field(max_length=32)
    mobile: str = Field(max_length=32)
    postcode: str = Field(max_length=32)
    role: str = Field(max_length=16, description="resident, owner, tenant or business")


class VisitRequest(Strict):
    """The field agent is at the door."""

    agent: str = Field(max_length=48, description="The agent's id within the organisation (e.g. postman-12)")


class ConfirmRequest(Strict):
    """The code the citizen shows at the door."""

    agent: str = Field(max_length=48)
    code: str = Field(max_length=16)


class RejectRequest(Strict):
    """Why the visit failed."""

    agent: str = Field(max_length=48)
    reason: str = Field(max_length=32)


class ChallengeRequest(Strict):
    """A citizen asks to see what is registered in their name."""

    national_code: str = Field(max_length=32)
    mobile: str = Field(max_length=32)


class AddressesRequest(Strict):
    """The challenge id and the code texted to the citizen's mobile."""

    challenge_id: str = Field(max_length=40)
    code: str = Field(max_length=16)


# --- helpers -----------------------------------------------------------------------------------


def hub_of(request: Request) -> VerifyHub:
    """The worker's hub (created at startup)."""
    hub = service(request).hub
    if hub is None:
        raise ApiError(503, "verify_unavailable", message("verify.unavailable"))
    return hub


def api_error(exc: VerifyError) -> ApiError:
    """A hub error as an API error: its status and code, its details in the body, Retry-After when refused."""
    details = {k: v for k, v in exc.details.items() if k not in ("code", "message", "status")}
    headers: dict[str, str] = {}
    if isinstance(exc, MatchRefused) or "retry_after" in details:
        headers["Retry-After"] = str(max(1, int(details.get("retry_after", 1))))
    return ApiError(exc.http_status, exc.code, exc.text(), details=details, headers=headers)


def org_label(p: Principal) -> str:
    """The organisation as the hub knows it (see :func:`jinef.api.servicedb.hub_label`)."""
    return hub_label(p.org_id, p.org)


def match_json(r: MatchResult) -> dict[str, Any]:
    """A match answer: only ``matched`` and ``trace_id`` when there is no match."""
    if not r.matched:
        return {"matched": False, "trace_id": r.trace_id}
    return {"matched": True, "role": r.role,
            "verified_since": r.verified_since.isoformat() if r.verified_since else None, "trace_id": r.trace_id}


def _start(request: Request, endpoint: str, items: int = 1) -> None:
    ctx = context(request)
    ctx.endpoint = endpoint
    ctx.items = items


# --- match -------------------------------------------------------------------------------------


async def answer_match(state: ServiceState, ctx: RequestContext, principal: Principal, national_code: str,
                       postcode: str, purpose: str) -> dict[str, Any]:
    """One match's answer, audited with the worker's concurrent matches in one commit (shared by the route
    below and the hot path in :mod:`jinef.api.hot_paths`)."""
    ctx.endpoint = "/v1/match"
    ctx.items = 1
    if state.hub is None:
        raise ApiError(503, "verify_unavailable", message("verify.unavailable"))
    try:
        outcome = await state.hub.matching.amatch(org_label(principal), national_code, postcode, purpose)
    except VerifyError as exc:
        raise api_error(exc) from None
    return match_json(outcome)


@router.post("/v1/match", response_model=MatchAnswer, responses=_ERRORS,
             summary="Is this postcode the verified address of this national code? (yes/no)")
async def match(body: MatchRequest, request: Request, principal: Principal = require_scope("match")) -> Any:
    """One audited yes/no match; 429 with Retry-After when the organisation looks like it is enumerating."""
    return JSONResponse(await answer_match(service(request), context(request), principal, body.national_code,
                                           body.postcode, body.purpose))


@router.post("/v1/match/batch", responses=_ERRORS,
             summary=f"Up to {MAX_BATCH} matches for one purpose, answered row by row")
def match_batch(body: MatchBatchRequest, request: Request, principal: Principal = require_scope("match")) -> Any:
    """Each row has a result or its own error; a refused row carries ``retry_after``."""
    _start(request, "/v1/match/batch", len(body.items))
    charge_items(service(request), principal, len(body.items))
    hub = hub_of(request)
    if body.purpose not in hub.config.purposes:
        allowed = sorted(hub.config.purposes)
        text = message("verify.invalid_argument.choice", field="purpose", allowed=allowed)
        raise ApiError(422, "invalid_argument", text, details={"field": "purpose", "allowed": allowed})
    queries = [MatchQuery(row.national_code, row.postcode, row.row_id) for row in body.items]
    try:
        answered = hub.matching.match_batch(org_label(principal), queries, body.purpose)
    except VerifyError as exc:
        raise api_error(exc) from None
    results: list[dict[str, Any]] = []
    counts = {"matched": 0, "not_matched": 0, "failed": 0}
    retry = 0
    for item in answered:
        if item.result is not None:
            counts["matched" if item.result.matched else "not_matched"] += 1
            results.append({"row_id": item.row_id, "result": match_json(item.result), "error": None})
        else:
            assert item.error is not None
            counts["failed"] += 1
            if isinstance(item.error, MatchRefused):
                retry = max(retry, item.error.retry_after)
            error = item.error.as_dict(context(request).language)
            results.append({"row_id": item.row_id, "result": None, "error": error})
    context(request).outcome = "ok" if counts["failed"] == 0 else "partial"
    headers = {"Retry-After": str(max(1, retry))} if retry else None
    return JSONResponse({"results": results, **counts}, headers=headers)


# --- the verification workflow -----------------------------------------------------------------


@router.post("/v1/verifications", status_code=201, responses=_ERRORS,
             summary="Open a verification (texts a one-time code; answers the same whatever links exist)")
def open_verification(body: VerificationRequest, request: Request,
                      principal: Principal = require_scope("verify_request")) -> Any:
    """requested → code_sent; the code goes to the citizen's mobile, never into the answer."""
    _start(request, "/v1/verifications")
    try:
        info = hub_of(request).workflow.request(body.national_code, body.mobile, body.postcode, body.role,
                                                actor=org_label(principal))
    except VerifyError as exc:
        raise api_error(exc) from None
    return JSONResponse(info.as_dict(), status_code=201)




@router.post("/v1/verifications/{request_id}/visit", responses=_ERRORS, summary="The field agent is at the door")
def visit(request_id: str, body: VisitRequest, request: Request,
          principal: Principal = require_scope("field_agent")) -> Any:
    """code_sent → visited."""
    _start(request, "/v1/verifications/{request_id}/visit")
    try:
        info = hub_of(request).workflow.visit(request_id, agent=body.agent, org=org_label(principal))
    except VerifyError as exc:
        raise api_error(exc) from None
    return JSONResponse(info.as_dict())


@router.post("/v1/verifications/{request_id}/confirm", responses=_ERRORS,
             summary="The citizen's code is right: the address is verified")
def confirm(request_id: str, body: ConfirmRequest, request: Request,
            principal: Principal = require_scope("field_agent")) -> Any:
    """visited → verified (a wrong code counts a try; too many reject the request)."""
    _start(request, "/v1/verifications/{request_id}/confirm")
    try:
        info = hub_of(request).workflow.confirm(request_id, body.code, agent=body.agent,
                                                org=org_label(principal))
    except VerifyError as exc:
        raise api_error(exc) from None
    return JSONResponse(info.as_dict())


@router.post("/v1/verifications/{request_id}/reject", responses=_ERRORS, summary="The visit failed")
def reject(request_id: str, body: RejectRequest, request: Request,
           principal: Principal = require_scope("field_agent")) -> Any:
    """→ rejected, with one of the documented reasons."""
    _start(request, "/v1/verifications/{request_id}/reject")
    try:
        info = hub_of(request).workflow.reject(request_id, body.reason, agent=body.agent,
                                               org=org_label(principal))
    except VerifyError as exc:
        raise api_error(exc) from None
    return JSONResponse(info.as_dict())


@router.get("/v1/verifications/{request_id}", responses=_ERRORS, summary="A verification's state")
def get_verification(request_id: str, request: Request,
                     principal: Principal = require_scope("verify_request", "field_agent")) -> Any:
    """The request's state (for the portal that opened it or the agent visiting it)."""
    _start(request, "/v1/verifications/{request_id}")
    # A field agent sees only requests its own organisation visits (or that no one has visited yet).
    agent_org = None if "verify_request" in principal.scopes else org_label(principal)
    try:
        info = hub_of(request).workflow.get(request_id, org=agent_org)
    except VerifyError as exc:
        raise api_error(exc) from None
    return JSONResponse(info.as_dict())


# --- the citizen's own view --------------------------------------------------------------------


@router.post("/v1/citizen/challenge", status_code=201, responses=_ERRORS,
             summary="Text a one-time code to the citizen's mobile")
def citizen_challenge(body: ChallengeRequest, request: Request,
                      principal: Principal = require_scope("citizen")) -> Any:
    """The code proves the mobile; present it with the id to /v1/citizen/addresses."""
    _start(request, "/v1/citizen/challenge")
    try:
        ch = hub_of(request).citizen.challenge(body.national_code, body.mobile)
    except VerifyError as exc:
        raise api_error(exc) from None
    return JSONResponse({"challenge_id": ch.id, "expires_at": ch.expires_at.isoformat()}, status_code=201)


@router.post("/v1/citizen/addresses", responses=_ERRORS,
             summary="The verified addresses registered with this national code and mobile")
def citizen_addresses(body: AddressesRequest, request: Request,
                      principal: Principal = require_scope("citizen")) -> Any:
    """What is registered in my name (Shahkar's own-services view)."""
    _start(request, "/v1/citizen/addresses")
    try:
        found = hub_of(request).citizen.addresses(body.challenge_id, body.code)
    except VerifyError as exc:
        raise api_error(exc) from None
    return JSONResponse({"addresses": [{"postcode": a.postcode, "role": a.role,
                                        "verified_since": a.verified_since.isoformat()} for a in found]})
