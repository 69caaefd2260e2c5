"""Strict decoding of JSON request bodies: text that is not Unicode is a 422 naming its field.

JSON lets a string hold a lone surrogate (``"\\ud800"``), which Python's ``json`` decodes into a
``str`` that cannot be encoded again; deep inside an answer (``orjson.dumps``, SQLite, a log line)
that became an HTTP 500. Raw bytes that are not UTF-8 decode the same way (``surrogatepass``). So
every JSON body is checked once, in the service middleware, before either the hot ASGI paths or
FastAPI read it: both then see only clean text, and the refusal is the same on both.

Refused: lone surrogates (escaped or as raw bytes) and any other byte sequence that is not UTF-8:
the code points that are not Unicode characters. Other characters, control characters included,
are text like any other (a batch row of them fails alone, as a row that cannot be read).
The check costs one UTF-8 decode and one search for ``\\u`` escapes of surrogates; only a body
that has one is parsed here, to name the field.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.exceptions import HTTPException

from jinef.api.deps import ApiError
from jinef.common.messages import message

# An escaped UTF-16 surrogate (a paired one matches too: the parse below tells them apart).
_SUSPECT = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_BAD_CHAR = re.compile("[\ud800-\udfff]")
RULES = ("lone_surrogate", "invalid_utf8")  # the message of each is request.invalid_text.<rule>


class InvalidTextError(HTTPException):
    """A body with text that is not clean Unicode (an HTTPException so FastAPI's body reader lets it through)."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.status, error.message)
        self.error = error


def is_json(content_type: str | None) -> bool:
    """True for ``application/json`` and ``application/*+json`` (what FastAPI parses as JSON)."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def check_json_body(body: bytes) -> ApiError | None:
    """The 422 for a JSON body holding text that is not clean Unicode, naming the field; None when clean."""
    raw_ok = True
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raw_ok = False
        # Each bad byte becomes a lone surrogate (U+DC80..U+DCFF), found below in the string that holds it.
        text = body.decode("utf-8", "surrogateescape")
    if raw_ok and _SUSPECT.search(body) is None:
        return None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None  # not JSON: the route answers that as it always has
    found = _find(data, "")
    if found is None:
        return None
    field, char = found
    rule = "invalid_utf8" if not raw_ok and "\udc80" <= char <= "\udcff" else "lone_surrogate"
    refusal = message(f"request.invalid_text.{rule}", field=field or message("request.the_body"))
    return ApiError(422, "invalid_text", refusal, details={"field": field or "the body", "rule": rule})


def _find(value: Any, path: str) -> tuple[str, str] | None:
    """The path of the first string (or key) holding a bad character, and that character."""
    if isinstance(value, str):
        m = _BAD_CHAR.search(value)
        return (path, m.group()) if m else None
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _find(item, f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            m = _BAD_CHAR.search(key)
            shown = ascii(key) if m else key
            name = f"{path}.{shown}" if path else shown
            if m:
                return name, m.group()
            found = _find(item, name)
            if found:
                return found
    return None
