"""REST API v1 for the living registry: new buildings and units with new postcodes, edits, retirements, a
postcode's history and the change feed; a thin adapter on :class:`jinef.write.edit.editor.RegistryEditor`.

Writes need the ``registry_write`` scope; history and the feed ``registry_read`` or ``lookup``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from jinef.api.deps import ServiceState, charge_items, context, require_scope, service
from jinef.api.edits import Edits
from jinef.api.responses import JSONResponse
from jinef.api.schemas import ErrorResponse
from jinef.api.servicedb import Principal
from jinef.model.change import Actor, Reason
from jinef.write.edit.editor import EditResult

router = APIRouter(prefix="/v1", tags=["registry changes"])

MAX_ID = 2**62  # ids and sequence numbers are 64-bit integers in both stores

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 413, 422, 429)
}


class UnitIn(BaseModel):
    """One new unit."""

    model_config = ConfigDict(extra="forbid")
    floor: int | str | None = Field(None, description="0 = همکف, negative below ground")
    unit: str = Field("", max_length=100)
    usage: str = Field("residential", max_length=40, description="English code or Persian label («مسکونی»)")


class ReasonIn(BaseModel):
    """Why (a reason code or free text) and a note."""

    reason: str | None = Field(None, max_length=200, description="new_building, correction, demolished, …")
    note: str = Field("", max_length=1000)


class BuildingIn(ReasonIn):
    """A new building: address parts as in the export, its point and its units."""

    model_config = ConfigDict(extra="forbid")
    province: str = Field(max_length=100)
    county: str = Field(max_length=100)
    district: str = Field("", max_length=100)
    rural_district: str = Field("", max_length=100)
    locality_type: str = Field("", max_length=20)
    locality: str = Field(max_length=100)
    neighbourhood: str = Field("", max_length=100)
    prev_thoroughfare: str = Field("", max_length=200)
    last_thoroughfare: str = Field(max_length=200)
    plate: str = Field("", max_length=100)
    entrance: str = Field("", max_length=100)
    building: str = Field("", max_length=100)
    lat: float
    lon: float
    units: list[UnitIn] = Field(min_length=1, max_length=500)


class UnitsIn(ReasonIn):
    """Units to add to a building."""

    model_config = ConfigDict(extra="forbid")
    units: list[UnitIn] = Field(min_length=1, max_length=500)


class PatchIn(ReasonIn):
    """Fields to change (a building's fields change for all its units)."""

    model_config = ConfigDict(extra="forbid")
    floor: int | str | None = None
    unit: str | None = Field(None, max_length=100)
    usage: str | None = Field(None, max_length=40)
    building: str | None = Field(None, max_length=100)
    plate: str | None = Field(None, max_length=100)
    entrance: str | None = Field(None, max_length=100)
    lat: float | None = None
    lon: float | None = None


class SplitIn(ReasonIn):
    """The parts a unit is split into; the postcode keeps the first."""

    model_config = ConfigDict(extra="forbid")
    parts: list[UnitIn] = Field(min_length=2, max_length=500)


class MergeIn(ReasonIn):
    """Units of one building merged into the first."""

    model_config = ConfigDict(extra="forbid")
    postcodes: list[str] = Field(min_length=2, max_length=500)
    floor: int | str | None = None
    unit: str | None = Field(None, max_length=100)
    usage: str | None = Field(None, max_length=40)


class MoveIn(ReasonIn):
    """The building a unit now belongs to."""

    model_config = ConfigDict(extra="forbid")
    building_id: int = Field(ge=1, le=2**62)


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal.org, principal.key_id, context(request).request_id, principal.province)


def edits(state: ServiceState) -> Edits:
    """The worker's editor (opened on first use)."""
    if state.edits is None:
        state.edits = Edits(state.registry.location)
    return state.edits


async def _write(request: Request, principal: Principal, endpoint: str, items: int, fn: Any,
                 status: int = 200) -> JSONResponse:
    state = service(request)
    ctx = context(request)
    ctx.endpoint = endpoint
    ctx.items = items
    charge_items(state, principal, items)  # a call for 40 units costs 40, as 40 calls would
    result: EditResult = await edits(state).run(fn)
    state.registry.catch_up()  # this worker answers the change from the next request on
    ctx.outcome = "ok"
    return JSONResponse(result.as_dict(), status_code=status)


def _reason(body: ReasonIn, default: str) -> Reason:
    return Reason.of(body.reason or default, body.note)


def _units(units: list[UnitIn]) -> list[dict[str, Any]]:
    return [u.model_dump() for u in units]


@router.post("/buildings", status_code=201, responses=_ERRORS,
             summary="Register a new building: its units get new postcodes (201 with building_id, postcodes)")
async def create_building(body: BuildingIn, request: Request,
                          principal: Principal = require_scope("registry_write")) -> Any:
    """A new building and its units' postcodes, by the national rules, next to its neighbours'."""
    parts = body.model_dump(exclude={"units", "reason", "note"})
    actor, reason, units = _actor(request, principal), _reason(body, "new_building"), _units(body.units)
    return await _write(request, principal, "/v1/buildings", len(units),
                        lambda e: e.create_building(parts, units, actor, reason), 201)


@router.post("/buildings/{building_id}/units", status_code=201, responses=_ERRORS,
             summary="Add units (and new postcodes) to a building")
async def add_units(building_id: Annotated[int, Path(ge=1, le=MAX_ID)], body: UnitsIn, request: Request,
                    principal: Principal = require_scope("registry_write")) -> Any:
    """New units numbered after the building's own."""
    actor, reason, units = _actor(request, principal), _reason(body, "new_unit"), _units(body.units)
    return await _write(request, principal, "/v1/buildings/{id}/units", len(units),
                        lambda e: e.add_units(building_id, units, actor, reason), 201)


@router.patch("/postcodes/{postcode}", responses=_ERRORS, summary="Change a unit's fields (a new version)")
async def patch_unit(postcode: str, body: PatchIn, request: Request,
                     principal: Principal = require_scope("registry_write")) -> Any:
    """Change usage, floor, unit, building name, plate, entrance or location."""
    fields = body.model_dump(exclude={"reason", "note"}, exclude_unset=True)
    actor, reason = _actor(request, principal), _reason(body, "correction")
    return await _write(request, principal, "/v1/postcodes/{postcode}", 1,
                        lambda e: e.update(postcode, fields, actor, reason))


@router.post("/postcodes/{postcode}/retire", responses=_ERRORS,
             summary="Retire a postcode: kept with its history, never issued again")
async def retire(postcode: str, body: ReasonIn, request: Request,
                 principal: Principal = require_scope("registry_write")) -> Any:
    """Retire one postcode."""
    actor, reason = _actor(request, principal), _reason(body, "other")
    return await _write(request, principal, "/v1/postcodes/{postcode}/retire", 1,
                        lambda e: e.retire(postcode, actor, reason))


@router.post("/postcodes/{postcode}/split", status_code=201, responses=_ERRORS,
             summary="Split a unit: the postcode keeps the first part, the others get new postcodes")
async def split(postcode: str, body: SplitIn, request: Request,
                principal: Principal = require_scope("registry_write")) -> Any:
    """Split one unit into several."""
    actor, reason, parts = _actor(request, principal), _reason(body, "split"), _units(body.parts)
    return await _write(request, principal, "/v1/postcodes/{postcode}/split", len(parts),
                        lambda e: e.split(postcode, parts, actor, reason), 201)


@router.post("/postcodes/merge", responses=_ERRORS,
             summary="Merge units of one building into the first; the others are retired")
async def merge(body: MergeIn, request: Request, principal: Principal = require_scope("registry_write")) -> Any:
    """Merge several units into one."""
    fields = body.model_dump(include={"floor", "unit", "usage"}, exclude_unset=True)
    actor, reason, codes = _actor(request, principal), _reason(body, "merge"), list(body.postcodes)
    return await _write(request, principal, "/v1/postcodes/merge", len(codes),
                        lambda e: e.merge(codes, fields, actor, reason))


@router.post("/postcodes/{postcode}/move", responses=_ERRORS, summary="Move a unit to another building")
async def move(postcode: str, body: MoveIn, request: Request,
               principal: Principal = require_scope("registry_write")) -> Any:
    """The unit belongs to another building now; its postcode stays."""
    actor, reason = _actor(request, principal), _reason(body, "correction")
    return await _write(request, principal, "/v1/postcodes/{postcode}/move", 1,
                        lambda e: e.move(postcode, body.building_id, actor, reason))


@router.get("/postcodes/{postcode}/history", responses=_ERRORS,
            summary="Every version of a unit, oldest first (who, why, when, from which request)",
            dependencies=[require_scope("registry_read", "lookup")])
async def history(postcode: str, request: Request) -> Any:
    """A postcode's versions."""
    ctx = context(request)
    ctx.endpoint, ctx.items = "/v1/postcodes/{postcode}/history", 1
    versions = await edits(service(request)).run(lambda e: e.history(postcode))
    ctx.outcome = "ok"
    return JSONResponse({"postcode": versions[-1]["address"]["postcode"], "versions": versions})


@router.get("/changes", responses=_ERRORS,
            summary="The change feed: every change after `since`, in order, with no gap; resume from `next`",
            dependencies=[require_scope("registry_read", "lookup")])
async def changes(request: Request, since: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                  limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Any:
    """Changes numbered after ``since``; ``next`` is the number to ask from next time."""
    state = service(request)
    ctx = context(request)
    ctx.endpoint = "/v1/changes"
    generation, found = await asyncio.to_thread(state.registry.feed.read, since, limit)
    ctx.items = len(found)
    ctx.outcome = "ok"
    return JSONResponse({"changes": found, "next": found[-1]["seq"] if found else since, "generation": generation})
