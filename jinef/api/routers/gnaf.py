"""GNAF-compatible batch endpoints: the envelope of domain.md §4, answered from the same registry.

The key is the envelope's ``Signature``. A bad row fails alone (``Succ: false``); a bad envelope
fails whole with a non-zero ``ResCode`` and a 4xx status (see the error handlers in ``jinef.api.app``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request

from jinef.api import gnaf
from jinef.api.deps import ApiError, authorize, context, service
from jinef.api.responses import JSONResponse
from jinef.api.routers.verify import api_error, hub_of, org_label
from jinef.common.messages import Language, Message, message
from jinef.model import postcode as pc
from jinef.model.address import Address, Status
from jinef.read.verify import InvalidNationalCode, InvalidPostcode, MatchQuery, MatchRefused, VerifyError

router = APIRouter(prefix="/gnaf/postcode", tags=["gnaf"])
match_router = APIRouter(prefix="/gnaf", tags=["gnaf"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": gnaf.GnafResponse} for code in (400, 401, 403, 413, 422, 429)
}
Builder = Callable[[Address, str], dict[str, Any]]
_OK = message("gnaf.ok")
_RETIRED = Status.RETIRED.value  # read once: an enum member's .value is a descriptor call per row


def _row_error(code: int, text: Message, language: Language) -> dict[str, Any]:
    return {"ErrorCode": code, "ErrorMessage": text.text(language)}


def _rule_errors(v: pc.Validation, language: Language) -> list[dict[str, Any]]:
    """One row error per broken rule: the rule's name, then what it means."""
    return [_row_error(gnaf.ERR_INVALID_POSTCODE, message("gnaf.rule", rule=r, text=pc.rule_message(r)), language)
            for r in v.reasons]


def _answer(request: Request, body: gnaf.GnafRequest, endpoint: str, build: Builder | None,
            need_location: bool = False) -> JSONResponse:
    """Authenticate with the Signature, then answer every row on its own."""
    ctx = context(request)
    ctx.endpoint = endpoint
    ctx.items = len(body.Postcodes)
    authorize(request, body.Signature, "lookup", cost=len(body.Postcodes))  # each row counts against the quota
    checks = [pc.validate(row.PostCode) for row in body.Postcodes]
    found: dict[str, Address | None] = {}
    if build is not None:
        codes = list(dict.fromkeys(v.postcode for v in checks if v.postcode is not None))
        found = dict(zip(codes, service(request).address_source().get_many([int(c) for c in codes]), strict=True))
    data: list[dict[str, Any]] = []
    ok = 0
    for i, (row, v) in enumerate(zip(body.Postcodes, checks, strict=True)):
        trace = f"{ctx.request_id}-{i}"
        item: dict[str, Any] = {"ClientRowID": row.ClientRowID, "Postcode": v.postcode or row.PostCode}
        errors: list[dict[str, Any]] = []
        result: dict[str, Any] | None = None
        if build is None:  # validation method: the rules result, no existence needed
            result = {"TraceID": trace, "ErrorCode": 0 if v.valid else gnaf.ERR_INVALID_POSTCODE,
                      "PostCode": v.postcode or row.PostCode, "IsValid": v.valid, "Reasons": list(v.reasons)}
            errors = _rule_errors(v, ctx.language)
        elif v.postcode is None:
            errors = _rule_errors(v, ctx.language)
        else:
            a = found.get(v.postcode)
            if a is None:
                errors = [_row_error(gnaf.ERR_NOT_FOUND, message("gnaf.not_found"), ctx.language)]
            elif a.status == _RETIRED:
                errors = [_row_error(gnaf.ERR_RETIRED, message("gnaf.retired"), ctx.language)]
            elif need_location and (a.lat is None or a.lon is None):
                errors = [_row_error(gnaf.ERR_NO_LOCATION, message("gnaf.no_location"), ctx.language)]
            else:
                result = build(a, trace)
        item["Succ"] = not errors
        item["Result"] = result
        item["Errors"] = errors or None
        ok += not errors
        data.append(item)
    ctx.outcome = "ok" if ok == len(data) else "partial"
    return JSONResponse({"ResCode": gnaf.RES_OK, "ResMsg": _OK.text(ctx.language), "Data": data})


@router.post("/address", response_model=gnaf.GnafResponse, responses=_ERRORS,
             summary="GNAF: postcode → structured address")
async def address(body: gnaf.GnafRequest, request: Request) -> Any:
    """Structured address for each row."""
    return _answer(request, body, "/gnaf/postcode/address", gnaf.address_result)


@router.post("/address-string", response_model=gnaf.GnafResponse, responses=_ERRORS,
             summary="GNAF: postcode → standard national address as one string")
async def address_string(body: gnaf.GnafRequest, request: Request) -> Any:
    """Standard address (``Value``) for each row."""
    return _answer(request, body, "/gnaf/postcode/address-string", gnaf.string_result)


@router.post("/location", response_model=gnaf.GnafResponse, responses=_ERRORS,
             summary="GNAF: postcode → location (Lat, Lon)")
async def location(body: gnaf.GnafRequest, request: Request) -> Any:
    """Point for each row."""
    return _answer(request, body, "/gnaf/postcode/location", gnaf.location_result, need_location=True)


@router.post("/validate", response_model=gnaf.GnafResponse, responses=_ERRORS,
             summary="GNAF: postcode validation against the national rules")
async def validate(body: gnaf.GnafRequest, request: Request) -> Any:
    """Rules result for each row (Succ false with the failed rules when invalid)."""
    return _answer(request, body, "/gnaf/postcode/validate", None)


def _match_row_error(exc: VerifyError, language: Language) -> dict[str, Any]:
    if isinstance(exc, InvalidNationalCode):
        return _row_error(gnaf.ERR_INVALID_NATIONAL_CODE, exc.text(), language)
    if isinstance(exc, InvalidPostcode):
        return _row_error(gnaf.ERR_INVALID_POSTCODE, exc.text(), language)
    if isinstance(exc, MatchRefused):
        return {**_row_error(gnaf.ERR_MATCH_REFUSED, exc.text(), language), "RetryAfter": exc.retry_after}
    return _row_error(gnaf.ERR_MATCH_INVALID, exc.text(), language)


@match_router.post("/match", response_model=gnaf.GnafMatchResponse, responses=_ERRORS,
                   summary="GNAF envelope: is each PostCode the verified address of its NationalCode? (yes/no)")
def match(body: gnaf.GnafMatchRequest, request: Request) -> Any:
    """The match batch in GNAF's envelope; a bad or refused row fails alone, every row is audited."""
    ctx = context(request)
    ctx.endpoint = "/gnaf/match"
    ctx.items = len(body.Items)
    principal = authorize(request, body.Signature, "match", cost=len(body.Items))
    hub = hub_of(request)
    purpose = body.Purpose or gnaf.MATCH_DEFAULT_PURPOSE
    if purpose not in hub.config.purposes:
        raise ApiError(422, "invalid_argument", message("gnaf.unknown_purpose", allowed=sorted(hub.config.purposes)))
    queries = [MatchQuery(row.NationalCode, row.PostCode, row.ClientRowID) for row in body.Items]
    try:
        answered = hub.matching.match_batch(org_label(principal), queries, purpose)
    except VerifyError as exc:
        raise api_error(exc) from None
    data: list[dict[str, Any]] = []
    retry = 0
    for item in answered:
        result: dict[str, Any] | None = None
        errors: list[dict[str, Any]] | None = None
        if item.result is not None:
            r = item.result
            result = {"Matched": r.matched, "Role": r.role if r.matched else None,
                      "VerifiedSince": r.verified_since.isoformat() if r.matched and r.verified_since else None,
                      "TraceID": r.trace_id}
        else:
            assert item.error is not None
            if isinstance(item.error, MatchRefused):
                retry = max(retry, item.error.retry_after)
            errors = [_match_row_error(item.error, ctx.language)]
        data.append({"ClientRowID": item.row_id, "Succ": errors is None, "Result": result, "Errors": errors})
    ctx.outcome = "ok" if all(d["Succ"] for d in data) else "partial"
    headers = {"Retry-After": str(max(1, retry))} if retry else None
    return JSONResponse({"ResCode": gnaf.RES_OK, "ResMsg": _OK.text(ctx.language), "Data": data}, headers=headers)
