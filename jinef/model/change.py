"""One change of the living registry, as the change feed and a unit's history carry it.

The feed (``GET /v1/changes``) and the history of a postcode are the same records: what kind of change, the
unit's full address after it (as :meth:`Address.as_dict` writes it), who made it and why. A serving worker
turns a record back into an :class:`Address` with :func:`address_from_record` to answer it before the next
image is compiled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from jinef.model.address import ADDRESS_FIELDS, Address, address_from_values


class ChangeKind(StrEnum):
    """What a change did to a unit."""

    CREATE = "create"  # a new postcode (new building, unit added, a split's new part)
    UPDATE = "update"  # fields changed
    MOVE = "move"  # the unit now belongs to another building
    SPLIT = "split"  # the unit was split; this postcode keeps the first part
    MERGE = "merge"  # other units were merged into this one
    RETIRE = "retire"  # the postcode is retired (never issued again)


# Why a change was made: a code a report can count, plus free text. A reason that is not one of these is kept
# as the note of an ``other``.
REASON_CODES: dict[str, str] = {
    "new_building": "ساختمان جدید",
    "new_unit": "واحد جدید",
    "correction": "اصلاح اطلاعات",
    "survey": "بازدید میدانی",
    "change_of_use": "تغییر کاربری",
    "split": "تفکیک واحد",
    "merge": "تجمیع واحدها",
    "demolished": "تخریب",
    "other": "سایر",
}


CLI_ORG = "local"  # changes made on the registry's own machine (`jinef units …`), not through a key


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks for a change: the organisation, its key (None from the command line), the request, and the
    province a provincial office's key is bound to (None: national)."""

    org: str
    key_id: int | None = None
    request_id: str | None = None
    province: str | None = None


@dataclass(frozen=True, slots=True)
class Reason:
    """Why: a code of :data:`REASON_CODES` and free text."""

    code: str = "other"
    note: str = ""

    @classmethod
    def of(cls, text: str | None, note: str = "") -> Reason:
        """A reason from a code, or from free text (kept as the note of ``other``)."""
        text = (text or "").strip()
        if text in REASON_CODES:
            return cls(text, note)
        return cls("other", " — ".join(x for x in (text, note) if x))


def address_from_record(record: dict[str, Any]) -> Address:
    """The :class:`Address` a change record holds (the inverse of :meth:`Address.as_dict`)."""
    values = []
    for name in ADDRESS_FIELDS:
        v = record.get(name)
        if name in ("valid_from", "valid_to") and isinstance(v, str):
            v = date.fromisoformat(v[:10])
        values.append(v)
    return address_from_values(tuple(values))
