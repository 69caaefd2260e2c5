"""The search page at ``/`` and its offline basemap (no key needed for either).

The page itself holds no data: it calls the v1 API with the organisation key the user pastes once
(kept in the browser's localStorage). The basemap is public reference data (OSM boundaries), so the
map draws before a key is given. A strict Content-Security-Policy keeps the page from loading
anything that Jinef does not serve itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from jinef.api.deps import context, service

router = APIRouter(tags=["web"])

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class Static(StaticFiles):
    """The page's files; audited under one endpoint name (a mount has no route template)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = scope.get("jinef")
        if ctx is not None:
            ctx.endpoint = "/static"
        await super().__call__(scope, receive, send)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request) -> Any:
    """The search page (Persian, right to left)."""
    context(request).endpoint = "/"
    html = (STATIC_DIR / "index.html").read_bytes()
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache",
                                       "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})


@router.get("/v1/basemap/{level}.geojson", summary="Province or county boundaries, simplified (no key needed)",
            response_class=Response, responses={200: {"content": {"application/geo+json": {}}}})
async def basemap(level: Literal["provinces", "counties"], request: Request) -> Any:
    """Simplified boundaries as GeoJSON from the read image; gzip when the client accepts it, ETag for caches."""
    ctx = context(request)
    ctx.endpoint = "/v1/basemap/{level}.geojson"
    m = service(request).registry.get().basemap(level)
    headers = {"ETag": m.etag, "Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == m.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(m.gzipped, media_type="application/geo+json", headers={**headers, "Content-Encoding": "gzip"})
    return Response(m.body, media_type="application/geo+json", headers=headers)
