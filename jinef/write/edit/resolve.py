"""Address parts as the export writes them → the registry's rows (locality, neighbourhood, thoroughfares).

Names are compared by their match keys (:func:`jinef.text.keys.match_key`: Arabic/Persian letter forms, ZWNJ,
digits and spacing folded), so «خيابان آزادي» finds «خیابان آزادی». Divisions and localities must exist
(they come from the national divisions); a neighbourhood or thoroughfare not yet in the locality is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinef.common.messages import message
from jinef.model.address import LocalityType
from jinef.text.keys import match_key
from jinef.text.parser import split_thoroughfare
from jinef.write.edit.errors import EditError
from jinef.write.edit.session import EditSession


@dataclass(frozen=True, slots=True)
class Place:
    """Where a new building stands, as row ids of the registry."""

    locality_id: int
    locality_type: str
    neighbourhood_id: int | None
    prev_thoroughfare_id: int | None
    last_thoroughfare_id: int


def _text(parts: dict[str, Any], name: str) -> str:
    v = parts.get(name)
    return "" if v is None else str(v).strip()


def _one(rows: list[tuple[Any, ...]], text: str, key_of: Any) -> tuple[Any, ...] | None:
    key = match_key(text)
    found = [r for r in rows if match_key(key_of(r)) == key]
    return found[0] if found else None


def _required(parts: dict[str, Any], name: str) -> str:
    text = _text(parts, name)
    if not text:
        raise EditError("missing", name, message("edit.required", field=message(f"field.{name}")))
    return text


def locality_of(s: EditSession, parts: dict[str, Any]) -> tuple[int, str, str]:
    """(id, type, province code) of the locality the parts name; an :class:`EditError` when one does not exist."""
    province = _required(parts, "province")
    county = _required(parts, "county")
    locality = _required(parts, "locality")
    p = _one(s.rows("SELECT code, name FROM provinces"), province, lambda r: r[1])
    if p is None:
        raise EditError("unknown_value", "province", message("edit.province_unknown", name=province))
    c = _one(s.rows("SELECT code, name FROM counties WHERE province_code = ?", [p[0]]), county, lambda r: r[1])
    if c is None:
        raise EditError("unknown_value", "county", message("edit.county_unknown", name=county, province=p[1]))
    rows = s.rows("SELECT id, type, name FROM localities WHERE county_code = ?", [c[0]])
    kind = _text(parts, "locality_type")
    if kind:
        rows = [r for r in rows if r[1] == kind] or rows
    loc = _one(rows, locality, lambda r: r[2])
    if loc is None:
        raise EditError("unknown_value", "locality", message("edit.locality_unknown", name=locality, county=c[1]))
    return int(loc[0]), str(loc[1] or LocalityType.CITY.value), str(p[0])


def resolve_place(s: EditSession, parts: dict[str, Any]) -> Place:
    """The ids of a building's locality, neighbourhood and streets, adding a new neighbourhood or street."""
    last = _required(parts, "last_thoroughfare")
    loc_id, loc_type, _ = locality_of(s, parts)
    nb_id = None
    nb = _text(parts, "neighbourhood")
    if nb:
        nb_id = _find_or_add(s, "neighbourhoods", loc_id, nb, lambda r: r[1],
                             "SELECT id, name FROM neighbourhoods WHERE locality_id = ?",
                             lambda new_id: (new_id, loc_id, nb), nb)
    prev = _text(parts, "prev_thoroughfare")
    return Place(loc_id, loc_type, nb_id,
                 _thoroughfare(s, loc_id, prev, "prev_thoroughfare") if prev else None,
                 _thoroughfare(s, loc_id, last, "last_thoroughfare"))


def _thoroughfare(s: EditSession, loc_id: int, text: str, field: str) -> int:
    t = split_thoroughfare(text)
    if not t.type_word or not t.name:
        raise EditError("no_type_word", field, message("edit.thoroughfare_no_type", text=text))
    name = text.split(None, 1)[1] if text.split(None, 1)[0] == t.type_word and " " in text else t.name
    return _find_or_add(s, "thoroughfares", loc_id, text, lambda r: f"{r[1]} {r[2]}",
                        "SELECT id, type, name FROM thoroughfares WHERE locality_id = ?",
                        lambda new_id: (new_id, loc_id, t.type_word, name), name)


def _find_or_add(s: EditSession, table: str, loc_id: int, text: str, key_of: Any, select: str, row: Any,
                 name: str | None = None) -> int:
    found = None
    if name is not None:  # a city has hundreds of thousands of streets: the name as written first, by index
        found = _one(s.rows(select + " AND name = ?", [loc_id, name]), text, key_of)
    if found is None:
        found = _one(s.rows(select, [loc_id]), text, key_of)
    if found is not None:
        return int(found[0])
    new_id = int(s.rows(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")[0][0])
    values = row(new_id)
    s.run(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values))})", values)
    return new_id
