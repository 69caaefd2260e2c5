"""``/healthz`` (no key) and ``/metrics`` (Prometheus text, ``metrics`` scope)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from jinef.api.deps import context, require_scope, service
from jinef.api.responses import JSONResponse
from jinef.api.servicedb import LATENCY_BUCKETS, ServiceStore

router = APIRouter(tags=["system"])


@router.get("/healthz", summary="Liveness and readiness: the registry answers")
async def healthz(request: Request) -> Any:
    """200 when the registry's read image is open; ``indexes`` says which answering structures this worker has
    made from it (each on first use, or at start with ``--warm``), ``generation`` which image it reads."""
    context(request).endpoint = "/healthz"
    reg = service(request).registry.get()
    built = reg.built()
    indexes = {"addresses": built["table"], "reverse": built["reverse"], "autocomplete": built["autocomplete"],
               "geocoder": built["geocoder"]}
    return JSONResponse({"status": "ok", "generation": reg.generation, "change_seq": reg.overlay.seq,
                         "indexes": indexes})


def _labels(**kv: object) -> str:
    def esc(v: object) -> str:
        return str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in kv.items()) + "}"


def render_metrics(store: ServiceStore) -> str:
    """Prometheus text from the roll-ups in the shared service database (so correct across workers)."""
    req, lat = store.metric_rows()
    out = [
        "# HELP jinef_http_requests_total HTTP requests by endpoint, organisation and status.",
        "# TYPE jinef_http_requests_total counter",
    ]
    out += [f"jinef_http_requests_total{_labels(endpoint=e, org=o, status=s)} {n}" for e, o, s, n, _, _ in req]
    out += ["# HELP jinef_http_errors_total HTTP responses with status >= 400.",
            "# TYPE jinef_http_errors_total counter"]
    out += [f"jinef_http_errors_total{_labels(endpoint=e, org=o, status=s)} {n}"
            for e, o, s, n, _, _ in req if s >= 400]
    items: dict[tuple[str, str], int] = {}
    sums: dict[tuple[str, str], float] = {}
    counts: dict[tuple[str, str], int] = {}
    for e, o, _, n, total, it in req:
        items[(e, o)] = items.get((e, o), 0) + it
        sums[(e, o)] = sums.get((e, o), 0.0) + total
        counts[(e, o)] = counts.get((e, o), 0) + n
    out += ["# HELP jinef_http_items_total Postcodes (items) asked for.", "# TYPE jinef_http_items_total counter"]
    out += [f"jinef_http_items_total{_labels(endpoint=e, org=o)} {n}" for (e, o), n in items.items()]
    out += ["# HELP jinef_http_request_duration_seconds Request latency.",
            "# TYPE jinef_http_request_duration_seconds histogram"]
    per: dict[tuple[str, str], list[int]] = {}
    for e, o, b, n in lat:
        per.setdefault((e, o), [0] * (len(LATENCY_BUCKETS) + 1))[b] += n
    for (e, o), hist in per.items():
        cum = 0
        for le, n in zip([*map(str, LATENCY_BUCKETS), "+Inf"], hist, strict=True):
            cum += n
            out.append(f"jinef_http_request_duration_seconds_bucket{_labels(endpoint=e, org=o, le=le)} {cum}")
        out.append(f"jinef_http_request_duration_seconds_sum{_labels(endpoint=e, org=o)} {sums.get((e, o), 0.0)}")
        out.append(f"jinef_http_request_duration_seconds_count{_labels(endpoint=e, org=o)} {counts.get((e, o), 0)}")
    return "\n".join(out) + "\n"


@router.get("/metrics", summary="Prometheus metrics (requests, latency, errors by endpoint and organisation)",
            response_class=PlainTextResponse, dependencies=[require_scope("metrics")])
async def metrics(request: Request) -> Any:
    """Counters from the shared service database (every answered call's record is committed before its answer)."""
    context(request).endpoint = "/metrics"
    state = service(request)
    text = await asyncio.to_thread(render_metrics, state.store)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")
