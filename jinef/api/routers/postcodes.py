"""REST API v1: postcode lookup (single and batch) and validation; a thin adapter on ``jinef.Registry``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from jinef.api import geojson
from jinef.api.deps import ApiError, RequestContext, ServiceState, charge_items, context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.schemas import (
    ErrorResponse,
    LookupRequest,
    LookupResponse,
    PostcodeResult,
    ValidationResult,
    postcode_result,
)
from jinef.api.servicedb import Principal
from jinef.common.messages import LANGUAGES, message
from jinef.model import postcode as pc

router = APIRouter(prefix="/v1/postcodes", tags=["postcodes"])

_RULE_SEPARATOR = {"en": "; ", "fa": "؛ "}
_FOUND_ITEM = b'{"input":%s,"result":%s,"error":null}'
# The batch's not-found item, written once per language.
_NOT_FOUND = {language: {"code": "not_found", "message": message("postcode.not_found_item").text(language),
                         "reasons": None} for language in LANGUAGES}
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 413, 422, 429)
}


def invalid_postcode(v: pc.Validation) -> ApiError:
    """The 422 for an input that breaks the postcode rules, naming each rule."""
    return ApiError(422, "invalid_postcode", v.error(),
                    details={"reasons": list(v.reasons), "messages": [pc.rule_message(r) for r in v.reasons]})


def answer_lookup_many(state: ServiceState, ctx: RequestContext, principal: Principal, postcodes: list[str]) -> bytes:
    """The batch answer's JSON bytes (shared by the route below and the hot path in :mod:`jinef.api.hot_paths`).

    Found units' JSON comes pre-written from :class:`jinef.read.registry.address_json.AddressJson`; the
    envelope is joined around it here, giving the bytes ``orjson.dumps`` gives for the
    :class:`LookupResponse` dict (a test holds the two equal).
    """
    ctx.endpoint = "/v1/postcodes/lookup"
    ctx.items = len(postcodes)
    charge_items(state, principal, len(postcodes))  # a batch costs its items, here for both paths
    # Systems mostly send canonical codes: those skip building a Validation each.
    checks: list[str | pc.Validation] = [pc.quick_canonical(p) or pc.validate(p) for p in postcodes]
    canonical = [c if isinstance(c, str) else c.postcode for c in checks]
    found = iter(state.unit_json_source().encode_many([int(c) for c in canonical if c is not None]))
    items: list[bytes] = []
    n_found = n_missing = n_invalid = 0
    for text, check, code in zip(postcodes, checks, canonical, strict=True):
        if code is None:
            assert isinstance(check, pc.Validation)
            n_invalid += 1
            items.append(orjson.dumps({"input": text, "result": None, "error": {
                "code": "invalid_postcode", "message": _RULE_SEPARATOR[ctx.language].join(check.messages(ctx.language)),
                "reasons": list(check.reasons)}}))
            continue
        unit = next(found)
        if unit is None:
            n_missing += 1
            items.append(orjson.dumps({"input": text, "result": None, "error": _NOT_FOUND[ctx.language]}))
        else:
            n_found += 1
            items.append(_FOUND_ITEM % (orjson.dumps(text), unit))
    ctx.outcome = "ok" if n_found == len(postcodes) else "partial"
    return b"".join((b'{"results":[', b",".join(items),
                     b'],"found":%d,"not_found":%d,"invalid":%d}' % (n_found, n_missing, n_invalid)))


def answer_lookup_one(state: ServiceState, ctx: RequestContext, postcode: str) -> dict[str, Any]:
    """One postcode's answer; raises the 422 (invalid) or 404 (unknown) :class:`ApiError`."""
    ctx.endpoint = "/v1/postcodes/{postcode}"
    ctx.items = 1
    v = pc.validate(postcode)
    if v.postcode is None:
        raise invalid_postcode(v)
    a = state.address_source().get(int(v.postcode))
    if a is None:
        raise ApiError(404, "not_found", message("postcode.not_found", postcode=v.postcode))
    return postcode_result(a)


_UNIT_FEATURE = geojson.feature(geojson.point(35.7, 51.39), {
    "postcode": "1345678901", "status": "active", "standard_address": "استان تهران، شهرستان تهران، …",
    "location": {"lat": 35.7, "lon": 51.39, "source": "generated", "quality": 3}})


@router.post("/lookup", response_model=LookupResponse, responses={**_ERRORS, **geojson.openapi_response(
                 geojson.collection([_UNIT_FEATURE], {"found": 1, "not_found": 0, "invalid": 0}))},
             summary="Look many postcodes up (at most 1,000; each counts against the quota), answered item by "
                     "item in order")
async def lookup_many(body: LookupRequest, request: Request, principal: Principal = require_scope("lookup"),
                      answer_format: geojson.FormatQuery = "json") -> Any:
    """Batch lookup: each item has a result or an error, in input order (GeoJSON: a Feature per item, the
    record's fields beside ``input`` and ``error``)."""
    answer = answer_lookup_many(service(request), context(request), principal, body.postcodes)
    if answer_format == "geojson":
        return geojson.GeoJSONResponse(geojson.lookup_batch_collection(orjson.loads(answer)))
    return Response(answer, media_type="application/json")


@router.get("/{postcode}", response_model=PostcodeResult, responses={
                **_ERRORS, 404: {"model": ErrorResponse},
                **geojson.openapi_response(geojson.collection([_UNIT_FEATURE], {}))},
            summary="The structured and standard address and location of one postcode (any digit form)",
            dependencies=[require_scope("lookup")])
async def lookup_one(postcode: str, request: Request, answer_format: geojson.FormatQuery = "json") -> Any:
    """One postcode → its unit; 404 unknown, 422 invalid with the failed rules (GeoJSON: its one Feature)."""
    result = answer_lookup_one(service(request), context(request), postcode)
    if answer_format == "geojson":
        return geojson.GeoJSONResponse(geojson.lookup_collection(result))
    return JSONResponse(result)


@router.get("/{postcode}/validate", response_model=ValidationResult, responses=_ERRORS,
            summary="Check a postcode against the national rules (does not need it to exist)",
            dependencies=[require_scope("lookup")])
async def validate(postcode: str, request: Request) -> Any:
    """The rules result: valid or the named rules it breaks (200 either way)."""
    ctx = context(request)
    ctx.endpoint = "/v1/postcodes/{postcode}/validate"
    ctx.items = 1
    v = pc.validate(postcode)
    ctx.outcome = "ok" if v.valid else "invalid"
    return JSONResponse({**v.as_dict(), "messages": v.messages(ctx.language)})
