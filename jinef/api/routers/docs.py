"""The API's documentation pages, which work with no network: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

Both load their scripts and styles from the app's own static route (``/static/vendor/swagger-ui`` and
``/static/vendor/redoc``, vendored from the npm registry by ``make vendor-swagger-ui`` / ``make vendor-redoc``), never
from a CDN: an operator behind a firewall still gets working docs. Each page has its own Content-Security-Policy:
scripts only from here plus the page's one inline start-up script (allowed by its hash, not by ``'unsafe-inline'``);
inline styles, which both viewers inject; a blob worker, ReDoc's search. The search page keeps its stricter policy.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

SWAGGER_UI = "/static/vendor/swagger-ui"
REDOC = "/static/vendor/redoc"
FAVICON = "data:,"  # no icon rather than one fetched from elsewhere
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def content_security_policy(html: bytes) -> str:
    """The docs page's policy: this origin only, plus the hash of each inline script the page carries."""
    hashes = "".join(f" 'sha256-{base64.b64encode(hashlib.sha256(s).digest()).decode()}'"
                     for s in _INLINE_SCRIPT.findall(html))
    return (f"default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _page(html: HTMLResponse) -> HTMLResponse:
    return HTMLResponse(html.body, headers={"Content-Security-Policy": content_security_policy(bytes(html.body)),
                                            "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                                            "Referrer-Policy": "no-referrer"})


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> Any:
    """Swagger UI over /openapi.json: every operation, "Authorize" for the X-API-Key, "Try it out"."""
    root = _root(request)
    return _page(get_swagger_ui_html(
        openapi_url=root + str(request.app.openapi_url), title=f"{request.app.title} — Swagger UI",
        swagger_js_url=f"{root}{SWAGGER_UI}/swagger-ui-bundle.js", swagger_css_url=f"{root}{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=FAVICON,
        # No call to the public validator service: the document is checked by the tests, not by a third party.
        swagger_ui_parameters={"validatorUrl": None}))


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> Any:
    """ReDoc over /openapi.json: the same document as one readable page."""
    root = _root(request)
    return _page(get_redoc_html(
        openapi_url=root + str(request.app.openapi_url), title=f"{request.app.title} — ReDoc",
        redoc_js_url=f"{root}{REDOC}/redoc.standalone.js", redoc_favicon_url=FAVICON, with_google_fonts=False))
