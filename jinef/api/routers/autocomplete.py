"""REST API v1: autocomplete (place names suggested while typing); a thin adapter on
:class:`jinef.read.geocode.autocomplete.Autocompleter`, built once per worker on first use."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from jinef.api.deps import context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.schemas import AutocompleteResponse, ErrorResponse
from jinef.read.geocode.autocomplete import DEFAULT_LIMIT

router = APIRouter(prefix="/v1/autocomplete", tags=["geocode"])

MAX_SUGGESTIONS = 20
_ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorResponse} for code in (401, 403, 422, 429)}


@router.get("", response_model=AutocompleteResponse, responses=_ERRORS,
            summary="Places (localities, neighbourhoods, streets) for what has been typed so far",
            dependencies=[require_scope("geocode")])
async def autocomplete(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=200, description="What has been typed; the last word may be "
                                                                      "half-typed; Persian or Arabic letters")],
    limit: Annotated[int, Query(ge=1, le=MAX_SUGGESTIONS, description="Most suggestions")] = DEFAULT_LIMIT,
    locality: Annotated[str | None, Query(max_length=100, description="Only places in this locality")] = None,
) -> Any:
    """Suggestions, best first: exact words before prefixes, then by size."""
    ctx = context(request)
    ctx.endpoint = "/v1/autocomplete"
    ctx.items = 1
    state = service(request)
    completer = await state.autocomplete.aget(state.registry.get())
    found = completer.suggest(q, limit=limit, locality=locality)
    ctx.outcome = "ok" if found else "not_found"
    return JSONResponse({"query": q, "suggestions": [s.as_dict() for s in found]})
