"""The fields an edit may set, checked: a unit's floor, unit label and usage; a building's name, plate,
entrance and location. Each bad value is an :class:`EditError` naming the field and the rule."""

from __future__ import annotations

import math
from typing import Any

from jinef.common.messages import message
from jinef.model.address import USAGE_LABELS_FA, Usage
from jinef.model.digits import to_latin_digits
from jinef.write.edit.errors import EditError

UNIT_FIELDS = ("floor", "unit", "usage")
BUILDING_FIELDS = ("building", "plate", "entrance", "lat", "lon")
# Iran with a margin: a point outside is a typo (lat and lon swapped, a missing digit), never an address.
LAT_RANGE = (24.0, 40.5)
LON_RANGE = (43.5, 64.0)
_USAGES = {u.value: u.value for u in Usage} | {fa: u.value for u, fa in USAGE_LABELS_FA.items()}
_MAX_TEXT = 100


def usage_code(value: Any, field: str = "usage") -> str:
    """The stored usage code for an English code or a Persian label («مسکونی» → residential)."""
    text = str(value or "").strip()
    code = _USAGES.get(text) or _USAGES.get(text.lower())
    if code is None:
        raise EditError("unknown_value", field,
                        message("edit.usage_unknown", value=text, allowed=[message(f"usage.{u.value}") for u in Usage]))
    return code


def floor_number(value: Any, field: str = "floor") -> int | None:
    """A floor as a whole number (0 = ground, negative = below ground), or None."""
    if value is None or value == "":
        return None
    try:
        floor = int(to_latin_digits(str(value)).strip())
    except ValueError:
        raise EditError("not_a_number", field, message("edit.floor_not_whole", value=value)) from None
    if not -10 <= floor <= 200:
        raise EditError("out_of_range", field, message("edit.floor_out_of_range", floor=floor))
    return floor


def short_text(value: Any, field: str) -> str:
    """A label (unit, plate, entrance, building name) of at most 100 characters."""
    text = "" if value is None else str(value).strip()
    if len(text) > _MAX_TEXT or any(ord(ch) < 32 for ch in text):
        raise EditError("bad_text", field, message("edit.text_too_long", field=field, most=_MAX_TEXT))
    return text


def coordinate(value: Any, field: str) -> float:
    """A latitude or longitude inside Iran."""
    lo, hi = LAT_RANGE if field == "lat" else LON_RANGE
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise EditError("not_a_number", field, message("edit.not_a_number", field=field, value=value)) from None
    if not math.isfinite(x) or not lo <= x <= hi:
        raise EditError("out_of_range", field, message("edit.outside_iran", field=field, value=x, low=lo, high=hi))
    return x


def unit_changes(fields: dict[str, Any]) -> dict[str, Any]:
    """The unit columns an edit sets (floor, unit, usage), each checked, of those ``fields`` names."""
    out: dict[str, Any] = {}
    if "floor" in fields:
        out["floor"] = floor_number(fields["floor"])
    if "unit" in fields:
        out["unit"] = short_text(fields["unit"], "unit")
    if "usage" in fields:
        out["usage"] = usage_code(fields["usage"])
    return out


def unit_values(spec: dict[str, Any], where: str) -> tuple[int | None, str, str]:
    """(floor, unit, usage) of one new unit; ``where`` names it in errors (``units[2]``)."""
    if not isinstance(spec, dict):
        raise EditError("not_an_object", where, message("edit.unit_not_object"))
    unknown = sorted(set(spec) - set(UNIT_FIELDS))
    if unknown:
        raise EditError("unknown_field", f"{where}.{unknown[0]}", message("edit.unit_field_unknown", name=unknown[0]))
    return (floor_number(spec.get("floor"), f"{where}.floor"), short_text(spec.get("unit"), f"{where}.unit"),
            usage_code(spec.get("usage") or Usage.RESIDENTIAL.value, f"{where}.usage"))


def unit_list(specs: Any, field: str = "units", most: int = 500) -> list[tuple[int | None, str, str]]:
    """New units, at least one and at most ``most``, each checked."""
    if not isinstance(specs, list) or not specs:
        raise EditError("missing", field, message("edit.units_missing"))
    if len(specs) > most:
        raise EditError("too_many", field, message("edit.units_too_many", most=most))
    return [unit_values(u, f"{field}[{i}]") for i, u in enumerate(specs)]
