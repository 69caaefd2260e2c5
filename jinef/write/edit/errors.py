"""The one error an edit raises: what was wrong, in which field, by which rule, in English and Persian."""

from __future__ import annotations

from typing import Any


class EditError(ValueError):
    """An edit refused; nothing was written. ``code`` is stable (HTTP and CLI report it)."""

    def __init__(self, code: str, field: str, message: str, message_fa: str, status: int = 422) -> None:
        super().__init__(f"{field}: {message}")
        self.code = code
        self.field = field
        self.message = message
        self.message_fa = message_fa
        self.status = status  # 404 unknown postcode/building, 409 conflicts with the registry's state, else 422

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"code": self.code, "field": self.field, "message": self.message, "message_fa": self.message_fa}


def not_found(what: str, value: object) -> EditError:
    """An unknown postcode or building."""
    fa = {"postcode": "کدپستی", "building": "ساختمان"}.get(what, what)
    return EditError(f"unknown_{what}", what, f"no {what} {value} in the registry", f"{fa} {value} در ثبت نیست",
                     status=404)
