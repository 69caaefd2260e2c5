"""FastAPI's request validation errors as one API error whose every part comes from the message catalogue.

Pydantic names each problem by a type (``missing``, ``string_too_long``, ...) with its limits in ``ctx``; the
catalogue has a text per common type (``request.field.<type>``), so a Persian client reads «باید حداکثر ۳۲
نویسه داشته باشد» with the field's path. A type the catalogue lacks is named, not translated
(``request.field.other``). The input is never echoed (it can be large or personal).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jinef.api.deps import ApiError
from jinef.common.messages import Message, catalogue, message

_SHOWN = 5  # problems named in the message; the details list them all


def problem(error: dict[str, Any]) -> Message:
    """What is wrong with one field, from its pydantic error type and context."""
    kind = str(error.get("type", ""))
    mid = f"request.field.{kind}"
    if mid in catalogue():
        context = error.get("ctx") or {}
        wanted = catalogue().fields(mid)
        if wanted <= context.keys():
            return message(mid, **{name: context[name] for name in wanted})
    return message("request.field.other", type=kind)


def path(error: dict[str, Any]) -> str:
    """The field's path as clients write it: ``body.postcodes.1``."""
    return ".".join(map(str, error.get("loc", ())))


def api_error(errors: Sequence[Any], batch_limit: int, sent_as_json: bool) -> ApiError:
    """The 400 or 422 for a request FastAPI refused: bad JSON, too long a batch, not JSON, or each field's
    problem."""
    details = [{"loc": list(e.get("loc", ())), "msg": problem(e), "type": str(e.get("type", ""))} for e in errors]
    extra = {"details": details}
    if any(d["type"] == "json_invalid" for d in details):
        return ApiError(400, "malformed_json", message("request.malformed_json"), details=extra)
    if any(d["type"] == "too_long" for d in details):
        return ApiError(422, "batch_too_long", message("request.batch_too_long", limit=batch_limit), details=extra)
    if details and details[0]["loc"] == ["body"] and not sent_as_json:
        return ApiError(422, "invalid_request", message("request.not_json"), details=extra)
    problems = [message("request.problem", path=path(e), problem=problem(e)) for e in errors[:_SHOWN]]
    return ApiError(422, "invalid_request", message("request.schema", problems=problems), details=extra)
