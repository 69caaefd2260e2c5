"""JSON shapes of the REST API v1 (requests are strict: unknown fields and wrong types are refused)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from jinef.read.registry.address_json import unit_json

MAX_BATCH = 1000
# Longest text accepted where a postcode is expected (any digit form, dashes, spaces): a longer one is a 422
# naming the field rather than work spent on it. Shared with the hot path (jinef.api.hot_paths).
MAX_POSTCODE_TEXT = 32
MAX_ADDRESS_TEXT = 2000  # one typed address (the single geocode's q has the same limit)
PostcodeText = Annotated[str, StringConstraints(max_length=MAX_POSTCODE_TEXT)]


class Strict(BaseModel):
    """Refuse unknown fields and silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


class LookupRequest(Strict):
    """Many postcodes in one call."""

    postcodes: list[PostcodeText] = Field(min_length=1, max_length=MAX_BATCH,
                                 description=f"1 to {MAX_BATCH} postcodes in any digit form")


class StructuredAddress(BaseModel):
    """The certificate's levels, large to small."""

    province: str
    county: str
    district: str
    rural_district: str
    locality_type: str
    locality: str
    neighbourhood: str
    prev_thoroughfare: str
    last_thoroughfare: str
    plate: str
    entrance: str
    building: str
    floor: int | None
    unit: str
    usage: str


class Location(BaseModel):
    """The unit's geocode (WGS 84)."""

    lat: float
    lon: float
    source: str
    quality: int = Field(description="0 none, 1 locality, 2 thoroughfare, 3 building")


class PostcodeResult(BaseModel):
    """One postcode's record."""

    postcode: str
    status: str
    address: StructuredAddress
    standard_address: str
    location: Location | None


class ErrorBody(BaseModel):
    """What went wrong, with a stable code."""

    status: int
    code: str
    message: str
    request_id: str | None = None
    reasons: list[str] | None = None
    details: Any = None


class ErrorResponse(BaseModel):
    """Every error answer."""

    error: ErrorBody


class ItemError(BaseModel):
    """Why one item of a batch has no result."""

    code: str
    message: str
    reasons: list[str] | None = None


class LookupItem(BaseModel):
    """One item of a batch answer, in input order."""

    input: str
    result: PostcodeResult | None
    error: ItemError | None


class LookupResponse(BaseModel):
    """The batch answer."""

    results: list[LookupItem]
    found: int
    not_found: int
    invalid: int


class ValidationResult(BaseModel):
    """The rules result for one input."""

    input: str
    postcode: str | None
    valid: bool
    reasons: list[str]
    messages: list[str]


postcode_result = unit_json  # the JSON of one unit; defined beside its fast writer


# -- reverse geocoding ---------------------------------------------------------------------------

MAX_RADIUS_M = 5000.0
MAX_REVERSE_LIMIT = 50


class Point(Strict):
    """One point (WGS 84 degrees)."""

    lat: float
    lon: float


class ReverseBatchRequest(Strict):
    """Many points in one call; each is answered with its nearest building."""

    points: list[Point] = Field(min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} points")
    radius_m: float = Field(100.0, gt=0, le=MAX_RADIUS_M, description="Search radius in metres")


class AreaRef(BaseModel):
    """A province or county."""

    code: str | None
    name: str
    in_divisions: bool


class BuildingRef(BaseModel):
    """A building near the point, nearest first."""

    building_id: int
    lat: float
    lon: float
    distance_m: float
    postcodes: list[str]


class ReverseResult(BaseModel):
    """What is at one point."""

    lat: float
    lon: float
    status: str = Field(description="ok | no_building_within_radius | outside_iran")
    reason: str | None
    province: AreaRef | None
    county: AreaRef | None
    plus_code: str | None
    postcode: str | None = Field(description="The nearest building's lowest active postcode")
    standard_address: str | None = Field(description="The standard address of that postcode")
    buildings: list[BuildingRef]


class ReverseItem(BaseModel):
    """One point of a batch answer, in input order (nearest building only)."""

    lat: float | None = Field(description="The point as given (null when it was not a finite number)")
    lon: float | None
    status: str = Field(description="ok | no_building_within_radius | outside_iran | invalid")
    reason: str | None
    province: AreaRef | None
    county: AreaRef | None
    plus_code: str | None
    postcode: str | None
    building_id: int | None
    distance_m: float | None


class ReverseBatchResponse(BaseModel):
    """The batch answer with counts per status."""

    results: list[ReverseItem]
    counts: dict[str, int]


# -- autocomplete --------------------------------------------------------------------------------


class SuggestionLocation(BaseModel):
    """Where a suggested place is (a street: the mean of its buildings)."""

    lat: float
    lon: float


class SuggestionItem(BaseModel):
    """One suggested place."""

    level: str = Field(description="locality | neighbourhood | thoroughfare")
    name: str
    label: str = Field(description="Standard-address style, large to small")
    province: str
    county: str
    locality: str
    location: SuggestionLocation | None
    units: int
    score: float


class AutocompleteResponse(BaseModel):
    """Suggestions, best first."""

    query: str
    suggestions: list[SuggestionItem]


class GeocodeBatchRequest(Strict):
    """Many free-text addresses in one call (a customer file, a checkout queue)."""

    addresses: list[Annotated[str, StringConstraints(max_length=MAX_ADDRESS_TEXT)]] = Field(
        min_length=1, max_length=MAX_BATCH, description=f"1 to {MAX_BATCH} addresses")
    limit: int = Field(1, ge=1, le=10, description="Candidates per address")
    province: str | None = Field(None, max_length=100, description="Only this province")


class StructuredGeocodeRequest(Strict):
    """An address in separate fields, as a checkout form sends it."""

    province: str | None = Field(None, max_length=100)
    county: str | None = Field(None, max_length=100)
    locality: str | None = Field(None, max_length=100)
    neighbourhood: str | None = Field(None, max_length=100)
    streets: list[Annotated[str, StringConstraints(max_length=100)]] = Field(default_factory=list, max_length=4,
                               description="Thoroughfares with their type words, large to small")
    plate: str | None = Field(None, max_length=20)
    entrance: str | None = Field(None, max_length=20)
    building: str | None = Field(None, max_length=100)
    floor: int | None = Field(None, ge=-10, le=200)
    unit: str | None = Field(None, max_length=20)
    postcode: str | None = Field(None, max_length=20)
    limit: int = Field(5, ge=1, le=10)


class GeocodeCandidate(BaseModel):
    """One ranked answer."""

    level: str = Field(description="unit, building, thoroughfare, neighbourhood or locality")
    postcode: str | None = Field(description="When a unit is identified")
    confidence: float = Field(description="Calibrated: of answers at 0.9 or more, at most 0.5% are wrong")
    lat: float | None
    lon: float | None
    address: str = Field(description="The standard national address of the match")
    score: float
    unit_postcodes: list[str] = Field(description="At building level: the building's units")
    matched: dict[str, str] = Field(description="Which input part matched which level")
    conflicts: list[str] = Field(description="Input parts that contradict the match (e.g. a postcode)")


class GeocodeResponse(BaseModel):
    """Ranked candidates for one address and the explanation."""

    query: str
    level: str
    reason: str
    candidates: list[GeocodeCandidate]
    corrections: list[dict[str, str]]
    ignored: list[str]


class GeocodeBatchResponse(BaseModel):
    """One result per address, in order."""

    results: list[GeocodeResponse]
