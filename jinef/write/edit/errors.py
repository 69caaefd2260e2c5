"""The one error an edit raises: what was wrong, in which field, by which rule, from the message catalogue."""

from __future__ import annotations

from typing import Any

from jinef.common.messages import Message, message


class EditError(ValueError):
    """An edit refused; nothing was written. ``code`` is stable (HTTP and CLI report it); ``text`` is the
    catalogue message (``edit.*``), shown in either language."""

    def __init__(self, code: str, field: str, text: Message, status: int = 422) -> None:
        super().__init__(f"{field}: {text.text('en')}")
        self.code = code
        self.field = field
        self.text = text
        self.status = status  # 404 unknown postcode/building, 409 conflicts with the registry's state, else 422

    @property
    def message(self) -> str:
        """The message in English."""
        return self.text.text("en")

    @property
    def message_fa(self) -> str:
        """The message in Persian."""
        return self.text.text("fa")

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"code": self.code, "field": self.field, "message": self.message, "message_fa": self.message_fa}


def not_found(what: str, value: object) -> EditError:
    """An unknown postcode or building."""
    return EditError(f"unknown_{what}", what, message(f"edit.unknown_{what}", value=value), status=404)
