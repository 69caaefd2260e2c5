"""The GNAF batch envelope (domain.md §4): request/response shapes, codes, and Jinef → GNAF field mapping.

See docs/gnaf-mapping.md for the mapping and the reasons behind each choice.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from jinef.model.address import Address, floor_text

MAX_ROWS = 1000

# Envelope result codes (ResCode): 0 is success, anything else failed the whole batch.
RES_OK = 0
RES_BAD_REQUEST = 1  # malformed JSON, wrong types, unknown or missing fields
RES_TOO_MANY_ROWS = 2
RES_TOO_LARGE = 3
RES_BAD_SIGNATURE = 4
RES_FORBIDDEN = 5
RES_RATE_LIMITED = 6
RES_NOT_FOUND = 7  # no such method
RES_INTERNAL = 9

RES_BY_STATUS = {400: RES_BAD_REQUEST, 401: RES_BAD_SIGNATURE, 403: RES_FORBIDDEN, 404: RES_NOT_FOUND,
                 405: RES_NOT_FOUND, 413: RES_TOO_LARGE, 422: RES_BAD_REQUEST, 429: RES_RATE_LIMITED,
                 500: RES_INTERNAL, 503: RES_INTERNAL}

# Row error codes (Errors[].ErrorCode): a bad row fails alone.
ERR_INVALID_POSTCODE = 11
ERR_NOT_FOUND = 12
ERR_RETIRED = 13
ERR_NO_LOCATION = 14
# Row errors of the match method.
ERR_INVALID_NATIONAL_CODE = 21
ERR_MATCH_REFUSED = 22  # enumeration suspected or organisation blocked: ask again after RetryAfter
ERR_MATCH_INVALID = 23  # another bad argument (e.g. role)

# Purpose recorded for a GNAF match that sends none (GNAF's envelope has no such field).
MATCH_DEFAULT_PURPOSE = "unspecified"


class GnafRow(BaseModel):
    """One row of a GNAF batch."""

    model_config = ConfigDict(extra="forbid", strict=True)
    ClientRowID: int
    PostCode: str = Field(max_length=32)


class GnafRequest(BaseModel):
    """The GNAF batch request envelope, exactly as GNAF clients send it."""

    model_config = ConfigDict(extra="forbid", strict=True)
    ClientBatchID: int
    Postcodes: list[GnafRow] = Field(min_length=1, max_length=MAX_ROWS)
    Signature: str = Field(max_length=128, description="The organisation's API key")


class GnafError(BaseModel):
    """One error of a row."""

    ErrorCode: int
    ErrorMessage: str


class GnafItem(BaseModel):
    """One row of the answer."""

    ClientRowID: int
    Postcode: str
    Succ: bool
    Result: dict[str, Any] | None
    Errors: list[GnafError] | None


class GnafResponse(BaseModel):
    """The GNAF response envelope."""

    ResCode: int
    ResMsg: str
    Data: list[GnafItem] | None


def envelope_error(res_code: int, message: str) -> dict[str, Any]:
    """A whole-batch failure."""
    return {"ResCode": res_code, "ResMsg": message, "Data": None}


def address_result(a: Address, trace_id: str) -> dict[str, Any]:
    """GNAF's ``postcode → address`` Result for one unit (see docs/gnaf-mapping.md)."""
    return {
        "TraceID": trace_id,
        "ErrorCode": 0,
        "Province": a.province,
        "TownShip": a.county,
        "Zone": a.district,
        "Village": a.rural_district,
        "LocalityType": a.locality_type,
        "LocalityName": a.locality,
        "LocalityCode": "",  # the model has no public locality code yet
        "SubLocality": a.neighbourhood,
        # Street is the last thoroughfare (the one the door opens on), Street2 the one before it.
        "Street": a.last_thoroughfare,
        "Street2": a.prev_thoroughfare,
        "HouseNumber": a.plate,
        "Floor": "" if a.floor is None else floor_text(a.floor),
        "SideFloor": a.unit,
        "BuildingName": a.building,
        "Description": f"ورودی {a.entrance}" if a.entrance else "",
        "PostCode": a.postcode,
    }


def string_result(a: Address, trace_id: str) -> dict[str, Any]:
    """GNAF's ``postcode → address string`` Result: the standard national address as ``Value``."""
    return {"TraceID": trace_id, "ErrorCode": 0, "PostCode": a.postcode, "Value": a.standard_address}


def location_result(a: Address, trace_id: str) -> dict[str, Any]:
    """GNAF's ``postcode → location`` Result (WGS 84)."""
    return {"TraceID": trace_id, "ErrorCode": 0, "PostCode": a.postcode, "Lat": a.lat, "Lon": a.lon}


class GnafMatchRow(BaseModel):
    """One pair of a GNAF match batch."""

    model_config = ConfigDict(extra="forbid", strict=True)
    ClientRowID: int
    NationalCode: str = Field(max_length=32)
    PostCode: str = Field(max_length=32)


class GnafMatchRequest(BaseModel):
    """The match batch in GNAF's envelope (a Jinef extension: GNAF itself has no match method)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    ClientBatchID: int
    Items: list[GnafMatchRow] = Field(min_length=1, max_length=MAX_ROWS)
    Signature: str = Field(max_length=128, description="The organisation's API key")
    Purpose: str | None = Field(default=None, max_length=64,
                                description=f"Why the organisation asks; default {MATCH_DEFAULT_PURPOSE!r}")


class GnafMatchItem(BaseModel):
    """One answered pair."""

    ClientRowID: int
    Succ: bool
    Result: dict[str, Any] | None
    Errors: list[GnafError] | None


class GnafMatchResponse(BaseModel):
    """The match response envelope."""

    ResCode: int
    ResMsg: str
    Data: list[GnafMatchItem] | None
