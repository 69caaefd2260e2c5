"""REST API v1: reverse geocoding (a point → nearest buildings, postcodes, province, county); a thin adapter
on :class:`jinef.read.geo.reverse.ReverseGeocoder`, built once per worker on first use."""

from __future__ import annotations

import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request

from jinef.api import geojson
from jinef.api.deps import ApiError, ServiceState, charge_items, context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.schemas import (
    MAX_BATCH,
    MAX_RADIUS_M,
    MAX_REVERSE_LIMIT,
    ErrorResponse,
    ReverseBatchRequest,
    ReverseBatchResponse,
    ReverseResult,
)
from jinef.api.servicedb import Principal
from jinef.common.messages import message
from jinef.read.geo.coords import parse_coordinate
from jinef.read.geo.reverse import DEFAULT_LIMIT, DEFAULT_RADIUS_M, INVALID, OK, REASONS, STATUSES

router = APIRouter(prefix="/v1/reverse", tags=["reverse"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 413, 422, 429)
}


def _coordinate(text: str) -> float:
    """A typed coordinate; NaN when it is not a number (the geocoder then names the reason)."""
    value = parse_coordinate(text)
    return float("nan") if value is None else value


def _finite(x: float) -> float | None:
    """JSON has no NaN or infinity: such an input is echoed as null."""
    return x if math.isfinite(x) else None


@router.get("", response_model=ReverseResult, responses={**_ERRORS, **geojson.openapi_response(
                geojson.collection([geojson.feature(geojson.point(35.70012, 51.40008), {
                    "building_id": 4711, "lat": 35.70012, "lon": 51.40008, "distance_m": 14.2,
                    "postcodes": ["1345678901"]})], {"lat": 35.7, "lon": 51.4, "status": "ok",
                                                     "postcode": "1345678901"}))},
            summary="What is at a point: nearest buildings and their postcodes, province, county, Plus Code",
            dependencies=[require_scope("reverse")])
async def reverse_one(
    request: Request,
    lat: Annotated[str, Query(max_length=40, description="Latitude in degrees, any digit form («۳۵٫۷» too)")],
    lon: Annotated[str, Query(max_length=40, description="Longitude in degrees, any digit form")],
    radius_m: Annotated[float, Query(gt=0, le=MAX_RADIUS_M, description="Search radius in metres")]
    = DEFAULT_RADIUS_M,
    limit: Annotated[int, Query(ge=1, le=MAX_REVERSE_LIMIT, description="Most buildings to answer")] = DEFAULT_LIMIT,
    answer_format: geojson.FormatQuery = "json",
) -> Any:
    """One point → up to ``limit`` buildings within ``radius_m``, nearest first; 422 for unusable coordinates
    (GeoJSON: a Feature per building)."""
    ctx = context(request)
    ctx.endpoint = "/v1/reverse"
    ctx.items = 1
    state = service(request)
    registry = state.registry.get()
    la, lo = _coordinate(lat), _coordinate(lon)
    geocoder = await state.reverse.aget(registry)
    res = geocoder.reverse(la, lo, radius_m=radius_m, limit=limit)
    if res.status == INVALID:
        reason = res.reason or "invalid"
        text = message("reverse.invalid", reason=message(f"reverse.reason.{reason}"))
        raise ApiError(422, "invalid_coordinates", text, details={"reasons": [reason]})
    body = res.as_dict()
    address = registry.lookup(res.postcode) if res.postcode else None
    body["standard_address"] = address.standard_address if address else None
    ctx.outcome = res.status
    if answer_format == "geojson":
        return geojson.GeoJSONResponse(geojson.reverse_collection(body))
    return JSONResponse(body)


@router.post("/batch", response_model=ReverseBatchResponse, responses={**_ERRORS, **geojson.openapi_response(
                 geojson.collection([geojson.feature(geojson.point(35.70012, 51.40008), {
                     "lat": 35.7, "lon": 51.4, "status": "ok", "postcode": "1345678901", "distance_m": 14.2})],
                     {"counts": {"ok": 1}}))},
             summary=f"Many points (at most {MAX_BATCH:,}; each counts against the quota) → the nearest building "
                     "of each, answered in order")
async def reverse_batch(body: ReverseBatchRequest, request: Request, principal: Principal = require_scope("reverse"),
                        answer_format: geojson.FormatQuery = "json") -> Any:
    """Batch reverse: one answer per point in input order; an unusable point fails alone (status ``invalid``).
    GeoJSON: a Feature per point at its nearest building (no geometry when there is none)."""
    ctx = context(request)
    ctx.endpoint = "/v1/reverse/batch"
    ctx.items = len(body.points)
    state = service(request)
    charge_items(state, principal, len(body.points))
    geocoder = await state.reverse.aget(state.registry.get())
    lats = np.fromiter((p.lat for p in body.points), dtype=np.float64, count=len(body.points))
    lons = np.fromiter((p.lon for p in body.points), dtype=np.float64, count=len(body.points))
    b = geocoder.reverse_many(lats, lons, radius_m=body.radius_m)
    provinces = [a.as_dict() for a in b.province_areas]
    counties = [a.as_dict() for a in b.county_areas]
    postcodes = b.postcode_text()
    results: list[dict[str, Any]] = []
    for i, p in enumerate(body.points):
        status = STATUSES[b.status[i]]
        has = b.building_id[i] >= 0
        results.append({
            "lat": _finite(p.lat), "lon": _finite(p.lon), "status": status, "reason": REASONS[b.reason[i]] or None,
            "province": provinces[b.province[i]] if b.province[i] >= 0 else None,
            "county": counties[b.county[i]] if b.county[i] >= 0 else None,
            "plus_code": b.plus_code[i].decode() or None,
            "postcode": postcodes[i] or None,
            "building_id": int(b.building_id[i]) if has else None,
            "distance_m": round(float(b.distance_m[i]), 2) if has else None,
        })
    counts = {s: int(n) for s, n in zip(STATUSES, np.bincount(b.status, minlength=len(STATUSES)), strict=True)}
    ctx.outcome = "ok" if counts[OK] == len(results) else "partial"
    answer = {"results": results, "counts": counts}
    if answer_format == "geojson":
        return geojson.GeoJSONResponse(geojson.reverse_batch_collection(answer, _places(state, postcodes)))
    return JSONResponse(answer)


def _places(state: ServiceState, postcodes: list[str]) -> list[tuple[float, float] | None]:
    """Where each answered building is (its lowest postcode's unit: the image's or a change's location)."""
    found = iter(state.registry.get().lookup_many([p for p in postcodes if p]))
    places: list[tuple[float, float] | None] = []
    for p in postcodes:
        a = next(found) if p else None
        places.append((a.lat, a.lon) if a is not None and a.lat is not None and a.lon is not None else None)
    return places
