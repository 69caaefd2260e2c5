"""Postcode → :class:`Address` from the read image: a binary search and a few array reads, no database.

The image holds every unit's columns sorted by postcode and every building's columns (see
:mod:`jinef.image.layout`), memory-mapped and shared by every worker. Text that repeats (unit labels,
plates, usages, names) is a code into a small table, decoded here once; thoroughfares (millions) are a type
code and a name code each. Values are converted as :func:`jinef.write.store.query.row_to_address` converts the
store's rows, and a test holds the two equal for every unit on every engine.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol

import numpy as np

from jinef.image.folder import ReadImage
from jinef.image.layout import BUILDING_RECORD, NO_FLOOR, UNIT_RECORD
from jinef.model import postcode as pc
from jinef.model.address import Address, address_from_values
from jinef.model.postcode import from_int

_STRIDE = 64  # postcodes per stretch of the lookup fence

_NO_FLOOR = NO_FLOOR
UNIT_FIELDS: tuple[str, ...] = tuple(UNIT_RECORD.names or ())
BUILDING_FIELDS: tuple[str, ...] = tuple(BUILDING_RECORD.names or ())


class AddressSource(Protocol):
    """What answers postcode lookups (an :class:`AddressTable`)."""

    def get(self, postcode: int) -> Address | None:
        """The unit with this postcode (as an integer), or None."""
        ...

    def get_many(self, postcodes: Sequence[int]) -> list[Address | None]:
        """Units for many postcodes, in input order (None for an unknown one)."""
        ...


def _view(arr: np.ndarray) -> memoryview:
    """A memoryview giving plain Python ints and floats per element (no numpy scalar machinery; a strided
    field of a record array is viewed in place, never copied)."""
    return arr.data


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def _texts(image: ReadImage, name: str, null: Any, convert: Any = None) -> list[Any]:
    """A small text table decoded, with ``null`` appended so that code -1 (NULL) reads as it."""
    values = image.strings(name).tolist()
    if convert is not None:
        values = [convert(v) for v in values]
    return [*values, null]


class AddressTable:
    """Every unit's address, answered from a read image."""

    def __init__(self, image: ReadImage) -> None:
        self.image = image
        self.postcodes: np.ndarray = image.array("units/postcode")
        self._postcode_view = _view(self.postcodes)
        # Every 64th postcode, copied (4 MB at 30M units): a lookup bisects this small hot array first, then one
        # stretch of 64 in the mapped column, instead of two dozen probes each on another page of 240 MB.
        self._fence = _view(np.ascontiguousarray(self.postcodes[::_STRIDE]))
        self._unit_rows = image.array("units/rows")
        self._building_rows = image.array("buildings/rows")
        self._text: dict[str, list[Any]] = {
            "unit": _texts(image, "units/unit.values", ""), "usage": _texts(image, "units/usage.values", None),
            "status": _texts(image, "units/status.values", None),
            "valid_from": _texts(image, "units/valid_from.values", None, _date),
            "valid_to": _texts(image, "units/valid_to.values", None, _date),
            "plate": _texts(image, "buildings/plate.values", ""),
            "entrance": _texts(image, "buildings/entrance.values", ""),
            "name": _texts(image, "buildings/name.values", ""),
            "source": _texts(image, "buildings/source.values", None)}
        provinces = image.strings("admin/provinces.name").tolist()
        counties = image.strings("admin/counties.name").tolist()
        districts = image.strings("admin/districts.name").tolist()
        rurals = image.strings("admin/rural_districts.name").tolist()
        loc_type, loc_name = image.strings("localities/type"), image.strings("localities/name")
        rows = [image.array(f"localities/{c}").tolist() for c in ("province", "county", "district", "rural_district")]
        # (province, county, district, rural district, type, name) per locality; a None province or county means
        # the store's inner join finds no row for the unit.
        self._locality = [
            (provinces[p] if p >= 0 else None, counties[c] if c >= 0 else None, districts[d] if d >= 0 else "",
             rurals[r] if r >= 0 else "", loc_type[i], loc_name[i])
            for i, (p, c, d, r) in enumerate(zip(*rows, strict=True))]
        self.hood_names = image.strings("neighbourhoods/name").tolist()
        self._th_type = _view(image.array("thoroughfares/type"))
        self._th_name = _view(image.array("thoroughfares/name"))
        self._th_types = _texts(image, "thoroughfares/type.values", None)
        self._th_names = _texts(image, "thoroughfares/name.values", None)

    def __len__(self) -> int:
        return len(self.postcodes)

    @property
    def nbytes(self) -> int:
        """Bytes of the columns read (memory-mapped: shared by every worker of the machine)."""
        return int(self.postcodes.nbytes + self._unit_rows.nbytes + self._building_rows.nbytes)

    def thoroughfare(self, row: int) -> str:
        """A thoroughfare as the model writes it, with its type word («کوچه دوازدهم»); '' for none."""
        if row < 0:
            return ""
        kind, name = self._th_types[self._th_type[row]], self._th_names[self._th_name[row]]
        if not kind:
            return ""
        return f"{kind} {name}" if name else kind

    def locality(self, row: int) -> tuple[str | None, str | None, str, str, str, str]:
        """(province, county, district, rural district, type, name) of a locality row."""
        return self._locality[row]

    def neighbourhood(self, row: int) -> str:
        """A neighbourhood's name ('' for none)."""
        return self.hood_names[row] if row >= 0 else ""

    def texts(self, column: str) -> list[Any]:
        """The decoded table of a text column (index -1 is its NULL value)."""
        return self._text[column]

    def rows(self, postcodes: Sequence[int] | np.ndarray) -> np.ndarray:
        """Row of each postcode (as integers), -1 when it is not registered."""
        want = np.asarray(postcodes, dtype=np.int64)
        if len(self.postcodes) == 0:
            return np.full(len(want), -1, dtype=np.int64)
        pos = np.searchsorted(self.postcodes, want).clip(0, len(self.postcodes) - 1)
        return np.where(self.postcodes[pos] == want, pos, -1)

    def row(self, postcode: int) -> int:
        """Row of one postcode, -1 when it is not registered (the single-lookup path)."""
        # bisect over a memoryview: plain ints, and no GIL release and re-acquire as in numpy's searchsorted,
        # which under a busy event loop cost ten times the search itself.
        view = self._postcode_view
        f = bisect_left(self._fence, postcode)
        pos = bisect_left(view, postcode, (f - 1) * _STRIDE if f else 0, min(f * _STRIDE, len(view)))
        return pos if pos < len(view) and view[pos] == postcode else -1

    def unit_row(self, row: int) -> tuple[Any, ...]:
        """One unit's fields in :data:`UNIT_FIELDS` order (text as codes)."""
        return self._unit_rows.item(row)

    def building_row(self, row: int) -> tuple[Any, ...]:
        """One building's fields in :data:`BUILDING_FIELDS` order (text as codes)."""
        return self._building_rows.item(row)

    def address(self, row: int) -> Address | None:
        """The address at ``row``; None when its building or locality is missing (as the store's join)."""
        unit = self.unit_row(row)
        b = unit[1]
        return None if b < 0 else self._address(self._postcode_view[row], unit, self.building_row(b))

    def _address(self, postcode: int, unit: Sequence[Any], building: Sequence[Any]) -> Address | None:
        uid, _, floor, label, usage, status, vfrom, vto = unit
        bid, loc, hood, prev, last, plate, entrance, name, lat, lon, source, quality = building
        if loc < 0:
            return None
        province, county, district, rural, ltype, lname = self._locality[loc]
        if province is None or county is None:
            return None
        text = self._text
        return address_from_values((
            from_int(postcode), province, county, district, rural, ltype, lname,
            self.hood_names[hood] if hood >= 0 else "", self.thoroughfare(prev), self.thoroughfare(last),
            text["plate"][plate], text["entrance"][entrance], text["name"][name],
            None if floor == _NO_FLOOR else floor, text["unit"][label], text["usage"][usage],
            None if lat != lat else round(lat, 7), None if lon != lon else round(lon, 7),  # NaN: no geocode
            text["source"][source], quality, text["status"][status],
            text["valid_from"][vfrom], text["valid_to"][vto], uid, bid))

    def get(self, postcode: int) -> Address | None:
        """The unit with this postcode (as an integer), or None."""
        row = self.row(postcode)
        return None if row < 0 else self.address(row)

    def joined(self, postcodes: Sequence[int]) -> list[tuple[int, tuple[Any, ...], tuple[Any, ...]] | None]:
        """Per postcode, its (postcode, unit row, building row) as Python values; None when unknown or unbuilt.

        Row layouts are :data:`UNIT_FIELDS` and :data:`BUILDING_FIELDS`, text columns as codes.
        """
        # Gathered with one fancy index per column and zipped into tuples in C, rather than read row by row:
        # at a thousand postcodes per request this was a fifth of the answer's time.
        rows = self.rows(postcodes)
        found = rows[rows >= 0]
        units = self._unit_rows[found]
        building_rows = units["building"]
        buildings = self._building_rows[np.maximum(building_rows, 0)].tolist()  # a -1 row is refused below
        hits = iter(zip(self.postcodes[found].tolist(), units.tolist(), buildings, building_rows.tolist(),
                        strict=True))
        out: list[tuple[int, tuple[Any, ...], tuple[Any, ...]] | None] = []
        for r in rows.tolist():
            if r < 0:
                out.append(None)
                continue
            postcode, unit, building, b = next(hits)
            out.append(None if b < 0 else (postcode, unit, building))
        return out

    def get_many(self, postcodes: Sequence[int]) -> list[Address | None]:
        """Units for many postcodes (integers), in input order."""
        return [None if j is None else self._address(*j) for j in self.joined(postcodes)]

    def status(self, postcode: int) -> str | None:
        """'active', 'retired', or None for an unknown postcode."""
        row = self.row(postcode)
        return None if row < 0 else str(self._text["status"][self._unit_rows.item(row)[5]])

    def lookup(self, postcode: str) -> Address | None:
        """As :meth:`jinef.Registry.lookup`: any written form; invalid input raises PostcodeError."""
        return self.get(pc.to_int(postcode))

    def iter_rows(self, active_only: bool = True, batch: int = 10_000) -> Any:
        """Every unit's row in postcode order (active ones only, by default), in arrays of up to ``batch``."""
        status = self._unit_rows["status"]
        active = self._text["status"].index("active") if "active" in self._text["status"] else -2
        for lo in range(0, len(self.postcodes), batch):
            rows = np.arange(lo, min(lo + batch, len(self.postcodes)))
            yield rows[status[lo:lo + len(rows)] == active] if active_only else rows
