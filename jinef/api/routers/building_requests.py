"""REST API v1 for the office workflow of a new building: request (scope ``building_request``), field survey
(``registry_survey``), approval or rejection (``registry_approve``, a key bound to the request's province); a thin
adapter on :class:`jinef.write.edit.building_requests.BuildingRequests`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from jinef.api.deps import context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.routers.registry_changes import MAX_ID, BuildingIn, UnitIn, edits
from jinef.api.schemas import ErrorResponse
from jinef.api.servicedb import Principal
from jinef.model.change import Actor
from jinef.write.edit.building_requests import BuildingRequests

router = APIRouter(prefix="/v1/building-requests", tags=["building requests"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (401, 403, 404, 409, 413, 422, 429)
}
RequestId = Annotated[int, Path(ge=1, le=MAX_ID)]


class BuildingRequestIn(BuildingIn):
    """A request for a new building's postcodes, by its builder or a citizen."""

    applicant: str = Field("builder", description="builder or citizen")


class SurveyIn(BaseModel):
    """What the field agent found."""

    model_config = ConfigDict(extra="forbid")
    lat: float
    lon: float
    plate: str = Field("", max_length=100)
    photo_ref: str = Field("", max_length=100, description="Reference of the photo in the office's archive")
    note: str = Field("", max_length=100)
    units: list[UnitIn] = Field(min_length=1, max_length=500)


class DecisionIn(BaseModel):
    """An operator's approval note, or the reason of a rejection."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=100)


def _actor(request: Request, principal: Principal) -> Actor:
    return Actor(principal.org, principal.key_id, context(request).request_id, principal.province)


async def _call(request: Request, endpoint: str, fn: Any, status: int = 200) -> JSONResponse:
    state = service(request)
    ctx = context(request)
    ctx.endpoint, ctx.items = endpoint, 1
    result = await edits(state).run(lambda e: fn(BuildingRequests(e)))
    if result.get("status") == "approved" and "change_seq" in result:
        state.registry.catch_up()  # the new postcodes answer on this worker from the next request on
    ctx.outcome = "ok"
    return JSONResponse(result, status_code=status)


@router.post("", status_code=201, responses=_ERRORS, summary="Ask for a new building's postcodes")
async def submit(body: BuildingRequestIn, request: Request,
                 principal: Principal = require_scope("building_request")) -> Any:
    """A request waits for a field survey and an operator's approval."""
    parts = body.model_dump(exclude={"units", "reason", "note", "applicant"})
    units, actor = [u.model_dump() for u in body.units], _actor(request, principal)
    return await _call(request, "/v1/building-requests", lambda w: w.submit(parts, units, body.applicant, actor), 201)


@router.get("", responses=_ERRORS, summary="The queue of requests in the key's province (every province for a "
                                           "national key), oldest first")
async def queue(request: Request, status: Annotated[str | None, Query(max_length=20)] = None,
                limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                principal: Principal = require_scope("registry_survey", "registry_approve")) -> Any:
    """Requests by status."""
    actor = _actor(request, principal)
    ctx = context(request)
    ctx.endpoint = "/v1/building-requests"
    found = await edits(service(request)).run(lambda e: BuildingRequests(e).queue(actor, status, limit))
    ctx.items, ctx.outcome = len(found), "ok"
    return JSONResponse({"requests": found})


@router.get("/{request_id}", responses=_ERRORS, summary="One request with every step so far")
async def get(request_id: RequestId, request: Request,
              principal: Principal = require_scope("building_request", "registry_survey", "registry_approve")) -> Any:
    """A request and its steps."""
    actor = _actor(request, principal)
    return await _call(request, "/v1/building-requests/{id}", lambda w: w.get(request_id, actor))


@router.post("/{request_id}/survey", responses=_ERRORS, summary="Record the field survey of a requested building")
async def survey(request_id: RequestId, body: SurveyIn, request: Request,
                 principal: Principal = require_scope("registry_survey")) -> Any:
    """Position, plate, units and photo reference as surveyed."""
    found, actor = body.model_dump(), _actor(request, principal)
    found["units"] = [u.model_dump() for u in body.units]
    return await _call(request, "/v1/building-requests/{id}/survey", lambda w: w.survey(request_id, found, actor))


@router.post("/{request_id}/approve", responses=_ERRORS,
             summary="Approve a surveyed request: the building is registered and its units get postcodes")
async def approve(request_id: RequestId, body: DecisionIn, request: Request,
                  principal: Principal = require_scope("registry_approve")) -> Any:
    """Approval by an operator of the request's province."""
    actor = _actor(request, principal)
    return await _call(request, "/v1/building-requests/{id}/approve",
                       lambda w: w.approve(request_id, actor, body.reason))


@router.post("/{request_id}/reject", responses=_ERRORS, summary="Reject a request, saying why")
async def reject(request_id: RequestId, body: DecisionIn, request: Request,
                 principal: Principal = require_scope("registry_approve")) -> Any:
    """Rejection by an operator of the request's province."""
    actor = _actor(request, principal)
    return await _call(request, "/v1/building-requests/{id}/reject", lambda w: w.reject(request_id, actor, body.reason))
