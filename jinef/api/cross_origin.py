"""Cross-origin calls from web pages (CORS): none unless the operator names the origins (``JINEF_CORS_ORIGINS``).

Browsers let a page call the API from another origin only when the answer says that origin may; with no origins
set, Starlette's middleware is not installed at all and no answer says so. The key travels in a header, never in a
cookie, so credentials are not allowed; the page may read the request id and Retry-After.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.middleware.cors import CORSMiddleware

__all__ = ["CORSMiddleware", "cors_options"]


def cors_options(origins: Sequence[str]) -> dict[str, Any]:
    """CORSMiddleware's options for these origins (``*``: any)."""
    return {"allow_origins": list(origins), "allow_credentials": False,
            "allow_methods": ["GET", "POST", "PATCH"],
            "allow_headers": ["X-API-Key", "Content-Type", "Accept-Language"],
            "expose_headers": ["X-Request-ID", "Retry-After"], "max_age": 600}
