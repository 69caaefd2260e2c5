"""The provinces' dashboard over HTTP: figures per province and county, plans and snapshots, the definitions of
the measures, and the page at ``/provinces``; a thin adapter on :mod:`jinef.write.stats`.

Reading figures and plans needs the ``stats`` scope; setting a plan or taking a snapshot ``plans`` (a key bound
to a province sets that province's plans only). The definitions are public: they hold no data, only the query
each figure comes from.
"""

from __future__ import annotations

import asyncio
import html
import threading
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from jinef.api.deps import ApiError, context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.routers.web import CSP, STATIC_DIR
from jinef.api.schemas import ErrorResponse
from jinef.api.servicedb import Principal
from jinef.common.messages import MessageError, message
from jinef.write.stats import Dashboard, compute_dashboard
from jinef.write.stats.compute import served_by_type
from jinef.write.stats.measures import MEASURES, PLANNABLE_KEYS
from jinef.write.stats.plans import PlanStore, dashboard_db_beside

router = APIRouter(prefix="/v1", tags=["provinces' dashboard"])
page_router = APIRouter(tags=["web"])

DEFINITIONS_URL = "/v1/stats/definitions"
CACHE_SECONDS = 5.0  # figures are a few full scans of the registry: one computation serves a burst of page loads
_ERRORS: dict[int | str, dict[str, Any]] = {c: {"model": ErrorResponse} for c in (401, 403, 404, 422, 429)}
_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}
_lock = threading.Lock()
T = TypeVar("T")


def _compute(request: Request) -> Dashboard:
    state = request.app.state
    with _lock:  # one computation at a time per worker; the others wait for its result
        cached = getattr(state, "dashboard_cache", None)
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            board: Dashboard = cached[1]
            return board
        hub, svc = state.dashboard_sources
        board = compute_dashboard(service(request).registry.location, hub_db=hub, service_db=svc)
        state.dashboard_cache = (time.monotonic(), board)
        return board


async def _board(request: Request) -> Dashboard:
    return await asyncio.to_thread(_compute, request)


async def _with_plans(request: Request, work: Callable[[PlanStore], T]) -> T:
    """``work`` on the plans' store beside the service state, off the event loop (a file, or PostgreSQL)."""
    target = dashboard_db_beside(request.app.state.dashboard_sources[1])

    def run() -> T:
        with PlanStore(target) as store:
            return work(store)

    return await asyncio.to_thread(run)


def _measures() -> list[dict[str, Any]]:
    return [{"key": m.key, "title_fa": m.title_fa, "kind": m.kind, "plannable": m.plannable,
             "definition_url": f"{DEFINITIONS_URL}#{m.key}"} for m in MEASURES]


@router.get("/stats/provinces", responses=_ERRORS, summary="Every dashboard measure per province")
async def provinces(request: Request, principal: Principal = require_scope("stats")) -> Any:
    """Figures per province, the monthly postcodes issued and retired per province, lookups per organisation."""
    context(request).endpoint = "/v1/stats/provinces"
    b = await _board(request)
    return JSONResponse({"computed_at": b.computed_at, "generation": b.generation, "change_seq": b.change_seq,
                         "measures": _measures(), "provinces": [p.as_dict() for p in b.provinces],
                         "monthly": [r for r in b.monthly if r["level"] != "county"], "served": b.served,
                         "served_by_type": None if b.served is None else served_by_type(b.served)})


@router.get("/stats/provinces/{code}", responses=_ERRORS, summary="One province: its figures, counties and plans")
async def province(request: Request, code: Annotated[str, Path(max_length=10)],
                   principal: Principal = require_scope("stats")) -> Any:
    """A province's figures, each of its counties', its monthly series and its plans with their trajectories."""
    context(request).endpoint = "/v1/stats/provinces/{code}"
    b = await _board(request)
    p = b.province(code)
    if p is None:
        raise ApiError(404, "not_found", message("stats.province_not_found", code=code))
    counties = [c for c in b.counties if c.province_code == code]
    mine = {code} | {c.code for c in counties}
    plans = await _with_plans(request, lambda store: [store.progress(pl) for pl in store.plans(code)])
    return JSONResponse({"computed_at": b.computed_at, "change_seq": b.change_seq, "measures": _measures(),
                         "province": p.as_dict(), "counties": [c.as_dict() for c in counties],
                         "monthly": [r for r in b.monthly if r["level"] != "country" and r["code"] in mine
                                     and (r["level"] == "county" or r["code"] == code)],
                         "plans": plans})


class PlanIn(BaseModel):
    """A province's target for a measure by a Solar Hijri deadline."""

    model_config = ConfigDict(extra="forbid")
    province: str = Field(max_length=10, description="Province code, e.g. 23")
    measure: str = Field(max_length=40, description=f"One of {', '.join(PLANNABLE_KEYS)}")
    target: float = Field(ge=0, le=1e12, description="A share from 0 to 1 for *_share measures")
    deadline: str = Field(max_length=20, description="Solar Hijri date, e.g. 1405-06-31")
    note: str = Field("", max_length=500)


@router.get("/plans", responses=_ERRORS, summary="Plans with their progress (trajectory of snapshots)")
async def list_plans(request: Request, province: Annotated[str | None, Query(max_length=10)] = None,
                     principal: Principal = require_scope("stats", "plans")) -> Any:
    """Plans of one province or all, each with its snapshots' values and the share of its target reached."""
    context(request).endpoint = "/v1/plans"
    plans = await _with_plans(request, lambda store: [store.progress(p) for p in store.plans(province)])
    return JSONResponse({"plans": plans})


@router.post("/plans", status_code=201, responses=_ERRORS, summary="Set a province's target (plans scope)")
async def set_plan(body: PlanIn, request: Request, principal: Principal = require_scope("plans")) -> Any:
    """Set, or replace (same province, measure and deadline), a target; a province's key sets its own only."""
    context(request).endpoint = "/v1/plans"
    if principal.province is not None and principal.province != body.province:
        raise ApiError(403, "province_denied",
                       message("stats.province_denied", own=principal.province, asked=body.province))
    b = await _board(request)
    try:
        known = {p.code for p in b.provinces}
        out = await _with_plans(request, lambda store: store.progress(store.set_plan(
            body.province, body.measure, body.target, body.deadline, body.note, principal.org, known)))
    except MessageError as exc:
        raise ApiError(422, "invalid_plan", exc.text) from None
    return JSONResponse(out, status_code=201)


@router.post("/stats/snapshots", status_code=201, responses=_ERRORS,
             summary="Compute every measure now and keep it as a dated snapshot (plans scope)")
async def take_snapshot(request: Request, principal: Principal = require_scope("plans")) -> Any:
    """A snapshot of fresh figures: each plan's trajectory gets a point."""
    context(request).endpoint = "/v1/stats/snapshots"
    request.app.state.dashboard_cache = None
    b = await _board(request)
    sid = await _with_plans(request, lambda store: store.snapshot(b))
    return JSONResponse({"snapshot": sid, "taken_at": b.computed_at, "change_seq": b.change_seq}, status_code=201)


@router.get(DEFINITIONS_URL.removeprefix("/v1"), summary="What each measure means and the query that computes it "
            "(JSON, or a page for a browser; no key needed)")
async def definitions(request: Request) -> Any:
    """Every measure's definition and SQL; HTML with an anchor per measure when a browser asks."""
    context(request).endpoint = DEFINITIONS_URL
    if "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"measures": [m.as_dict() for m in MEASURES]})
    parts = [f'<section id="{m.key}"><h2>{html.escape(m.title_fa)} <code dir="ltr">{m.key}</code></h2>'
             f'<p dir="ltr">{html.escape(m.definition)}</p><p>منبع: <code>{m.source}</code></p>'
             f'<pre dir="ltr">{html.escape(m.sql.strip())}</pre></section>' for m in MEASURES]
    page = ('<!doctype html><html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>تعریف شاخص‌ها</title>'
            '<link rel="stylesheet" href="/static/provinces.css"></head><body class="definitions">'
            '<h1>تعریف شاخص‌های داشبورد استان‌ها</h1><p>هر عدد داشبورد با پرس‌وجوی زیر از پایگاه نشانی محاسبه '
            'می‌شود.</p>' + "".join(parts) + "</body></html>")
    return HTMLResponse(page, headers=_HEADERS)


@page_router.get("/provinces", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request) -> Any:
    """The provinces' dashboard page (Persian, right to left, offline)."""
    context(request).endpoint = "/provinces"
    return HTMLResponse((STATIC_DIR / "provinces.html").read_bytes(), headers=_HEADERS)
