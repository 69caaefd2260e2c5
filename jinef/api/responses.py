"""The service's JSON response: orjson instead of the standard library's encoder.

A 100-address batch answer is about 80 KB of JSON; the standard encoder took longer to write it
than the lookups took to find it. The bytes are the same shape as Starlette's (compact separators,
UTF-8 text rather than \\u escapes).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse


class JSONResponse(_StarletteJSONResponse):
    """A JSON response rendered with orjson; the standard encoder for what orjson refuses."""

    def render(self, content: Any) -> bytes:
        """The body bytes."""
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except TypeError:  # e.g. a client's row id beyond 64 bits, which JSON itself allows
            return super().render(content)
