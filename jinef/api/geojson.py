"""GeoJSON answers (RFC 7946): ``format=geojson`` on geocode, reverse and postcode lookup.

Each item of a JSON answer that stands for a place becomes a Feature: its geometry the place's point
(``[lon, lat]`` in WGS 84, as RFC 7946 orders them; null when the item has no location, as a postcode not found), its
properties the item's own JSON fields. The answer's other fields (the query, the counts, what is at a reversed point)
stay beside the features as foreign members of the FeatureCollection, so nothing the JSON answer says is lost.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import Query

from jinef.api.responses import JSONResponse

MEDIA_TYPE = "application/geo+json"
Format = Literal["json", "geojson"]
FormatQuery = Annotated[Format, Query(alias="format", description="json, or geojson for a FeatureCollection "
                                                                   "(RFC 7946, application/geo+json)")]

_POINT = {"type": "object", "required": ["type", "coordinates"], "properties": {
    "type": {"type": "string", "enum": ["Point"]},
    "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                    "description": "[longitude, latitude]"}}}
_COLLECTION = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"type": "string", "enum": ["FeatureCollection"]},
    "features": {"type": "array", "items": {"type": "object", "required": ["type", "geometry", "properties"],
                                            "properties": {"type": {"type": "string", "enum": ["Feature"]},
                                                           "geometry": {"anyOf": [_POINT, {"type": "null"}]},
                                                           "properties": {"type": "object"}}}}}}


def openapi_response(example: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """The 200 answer's GeoJSON content, added beside its JSON one in the OpenAPI document."""
    return {200: {"content": {MEDIA_TYPE: {"schema": _COLLECTION, "example": example}}}}


class GeoJSONResponse(JSONResponse):
    """A FeatureCollection, as ``application/geo+json``."""

    media_type = MEDIA_TYPE


def point(lat: Any, lon: Any) -> dict[str, Any] | None:
    """A Point at ``lat``, ``lon`` (``[lon, lat]``), or None when either is missing or not finite."""
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return {"type": "Point", "coordinates": [lon, lat]}


def feature(geometry: dict[str, Any] | None, properties: dict[str, Any]) -> dict[str, Any]:
    """One Feature."""
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(features: Iterable[dict[str, Any]], members: dict[str, Any]) -> dict[str, Any]:
    """A FeatureCollection with the answer's other fields as foreign members."""
    return {"type": "FeatureCollection", "features": list(features), **members}


def _rest(answer: dict[str, Any], items: str) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k != items}


def geocode_collection(answer: dict[str, Any]) -> dict[str, Any]:
    """A geocode answer: a Feature per candidate, best first."""
    return collection((feature(point(c.get("lat"), c.get("lon")), c) for c in answer["candidates"]),
                      _rest(answer, "candidates"))


def reverse_collection(answer: dict[str, Any]) -> dict[str, Any]:
    """A reverse answer: a Feature per building near the point, nearest first; what is at the point beside them."""
    return collection((feature(point(b["lat"], b["lon"]), b) for b in answer["buildings"]),
                      _rest(answer, "buildings"))


def reverse_batch_collection(answer: dict[str, Any], places: list[tuple[float, float] | None]) -> dict[str, Any]:
    """A reverse batch: a Feature per point in input order, placed at its nearest building (``places``)."""
    return collection((feature(point(*p) if p else None, r) for r, p in zip(answer["results"], places, strict=True)),
                      _rest(answer, "results"))


def unit_feature(result: dict[str, Any]) -> dict[str, Any]:
    """One postcode's record as a Feature at its location."""
    where = result.get("location") or {}
    return feature(point(where.get("lat"), where.get("lon")), result)


def lookup_collection(result: dict[str, Any]) -> dict[str, Any]:
    """One postcode's answer: a collection of its one Feature."""
    return collection([unit_feature(result)], {})


def lookup_batch_collection(answer: dict[str, Any]) -> dict[str, Any]:
    """A batch lookup: a Feature per input in order, the record's fields beside ``input`` and ``error``."""
    features = []
    for item in answer["results"]:
        result = item.get("result") or {}
        features.append(unit_feature({"input": item["input"], **result, "error": item.get("error")}))
    return collection(features, _rest(answer, "results"))
