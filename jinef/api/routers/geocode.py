"""REST API v1: forward geocoding (free text, batch, structured); a thin adapter on
:class:`jinef.read.geocode.geocoder.Geocoder`, built once per worker on first use."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from jinef.api import geojson
from jinef.api.deps import ApiError, charge_items, context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.schemas import (
    MAX_ADDRESS_TEXT,
    ErrorResponse,
    GeocodeBatchRequest,
    GeocodeBatchResponse,
    GeocodeResponse,
    StructuredGeocodeRequest,
)
from jinef.api.servicedb import Principal
from jinef.common.messages import message
from jinef.read.geocode.geocoder import Geocoder, GeocodeResult

router = APIRouter(prefix="/v1/geocode", tags=["geocode"])

MAX_QUERY = MAX_ADDRESS_TEXT
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (401, 403, 413, 422, 429)}


def _near(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    if lat is None and lon is None:
        return None
    if lat is None or lon is None:
        raise ApiError(422, "invalid_request", message("geocode.near_pair"))
    return (lat, lon)


def _outcome(results: list[GeocodeResult]) -> str:
    found = sum(1 for r in results if r.candidates)
    return "ok" if found == len(results) else ("not_found" if not found else "partial")


async def _geocoder(request: Request) -> Geocoder:
    state = service(request)
    return await state.geocoder.aget(state.registry.get())


@router.get("", response_model=GeocodeResponse, responses={**_ERRORS, **geojson.openapi_response(
                geojson.collection([geojson.feature(geojson.point(35.7, 51.39), {"level": "unit",
                                                                                "postcode": "1345678901"})],
                                   {"query": "تهران، خیابان آزادی، پلاک ۱۲", "level": "unit"}))},
            summary="A typed Persian address → ranked candidates with postcode, level and confidence",
            dependencies=[require_scope("geocode")])
async def geocode(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY, description="The address, however it is typed")],
    limit: Annotated[int, Query(ge=1, le=10)] = 5,
    province: Annotated[str | None, Query(max_length=100)] = None,
    county: Annotated[str | None, Query(max_length=100)] = None,
    locality: Annotated[str | None, Query(max_length=100)] = None,
    near_lat: Annotated[float | None, Query(ge=-90, le=90, description="Bias towards this point")] = None,
    near_lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    answer_format: geojson.FormatQuery = "json",
) -> Any:
    """One address; the answer explains which parts matched, which were corrected and which ignored (GeoJSON: a
    Feature per candidate)."""
    ctx = context(request)
    ctx.endpoint = "/v1/geocode"
    ctx.items = 1
    near = _near(near_lat, near_lon)
    res = (await _geocoder(request)).geocode(q, limit=limit, province=province, county=county, locality=locality,
                                              near=near)
    ctx.outcome = _outcome([res])
    if answer_format == "geojson":
        return geojson.GeoJSONResponse(geojson.geocode_collection(res.to_dict()))
    return JSONResponse(res.to_dict())


@router.post("/batch", response_model=GeocodeBatchResponse, responses=_ERRORS,
             summary="Many addresses (at most 1,000; each counts against the quota), answered in order")
async def geocode_batch(body: GeocodeBatchRequest, request: Request,
                        principal: Principal = require_scope("geocode")) -> Any:
    """Each address gets its own result; an address that cannot be read gets level none and a reason."""
    ctx = context(request)
    ctx.endpoint = "/v1/geocode/batch"
    ctx.items = len(body.addresses)
    charge_items(service(request), principal, len(body.addresses))
    g = await _geocoder(request)
    results = [g.geocode(a, limit=body.limit, province=body.province) for a in body.addresses]
    ctx.outcome = _outcome(results)
    return JSONResponse({"results": [r.to_dict() for r in results]})


@router.post("/structured", response_model=GeocodeResponse, responses=_ERRORS,
             summary="An address in separate fields (as from a checkout form), scored the same way",
             dependencies=[require_scope("geocode")])
async def geocode_structured(body: StructuredGeocodeRequest, request: Request) -> Any:
    """Structured fields skip the parser but share the scoring and the confidence."""
    ctx = context(request)
    ctx.endpoint = "/v1/geocode/structured"
    ctx.items = 1
    fields = body.model_dump(exclude={"limit"}, exclude_none=True)
    res = (await _geocoder(request)).geocode_structured(fields, limit=body.limit)
    ctx.outcome = _outcome([res])
    return JSONResponse(res.to_dict())
