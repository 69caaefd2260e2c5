"""Every unit's address in compact numpy columns, so postcode lookups need no database round trip.

A service worker answers thousands of lookups a second; through SQLite each costs a ten-table join
(tens of microseconds, and a release of the GIL that other threads can hold up). This table holds
the same facts as the store in integer columns plus small string tables (a national registry has few
distinct unit labels, plates or usages), sorted by postcode: a lookup is a binary search and a few
array reads. Values are converted as :func:`jinef.store.query.row_to_address` converts the store's
rows (with the same helpers), and a test holds the two equal for every unit on every engine.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from jinef.registry import postcode as pc
from jinef.registry.model import Address, address_from_values
from jinef.registry.postcode import from_int
from jinef.registry.registry import Registry
from jinef.store.base import RegistryReader
from jinef.store.query import date_of as _date
from jinef.store.query import thoroughfare_text as _thoroughfare


class AddressSource(Protocol):
    """What answers postcode lookups: an :class:`AddressTable`, or the store's reader until one is built."""

    def get(self, postcode: int) -> Address | None:
        """The unit with this postcode (as an integer), or None."""
        ...

    def get_many(self, postcodes: Sequence[int]) -> list[Address | None]:
        """Units for many postcodes, in input order (None for an unknown one)."""
        ...


_NO_FLOOR = np.iinfo(np.int16).min  # floor is NULL (a rural house, a plot)


def _encode(values: Iterable[Any], n: int) -> tuple[np.ndarray, list[Any]]:
    """Codes into a table of distinct values (None kept as a value), in first-seen order."""
    table: dict[Any, int] = {}
    codes = np.fromiter((table.setdefault(v, len(table)) for v in values), dtype=np.int32, count=n)
    return codes, list(table)


def _rows_of(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Row of each wanted id in the ascending ``ids`` (-1 when absent or wanted is -1)."""
    if len(ids) == 0:
        return np.full(len(wanted), -1, dtype=np.int32)
    pos = np.searchsorted(ids, wanted).clip(0, len(ids) - 1)
    return np.where(ids[pos] == wanted, pos, -1).astype(np.int32)


_UNIT = np.dtype([("id", "<i8"), ("building", "<i4"), ("floor", "<i2"), ("unit", "<i4"), ("usage", "<i4"),
                  ("status", "<i4"), ("valid_from", "<i4"), ("valid_to", "<i4")])
_BUILDING = np.dtype([("id", "<i8"), ("locality", "<i4"), ("neighbourhood", "<i4"), ("prev", "<i4"), ("last", "<i4"),
                      ("plate", "<i4"), ("entrance", "<i4"), ("name", "<i4"), ("lat", "<f8"), ("lon", "<f8"),
                      ("source", "<i4"), ("quality", "<i2")])


class AddressTable:
    """Postcode → :class:`Address` from memory; built once from a registry (any storage engine).

    Units and buildings are numpy record arrays (one ``.item()`` reads a whole row as Python values);
    text columns are codes into tables of their distinct values.
    """

    def __init__(self, reader: RegistryReader) -> None:
        # Text columns are read one at a time and encoded at once: 2M units' texts as Python strings were
        # most of the build's peak memory.
        u = reader.columns("units", ["id", "postcode", "building_id"])
        order = np.argsort(u["postcode"], kind="stable")
        n = len(order)
        self.postcodes: np.ndarray = np.ascontiguousarray(u["postcode"][order], dtype=np.int64)
        self._postcode_view = self.postcodes.data.cast("B").cast("q")
        b = reader.columns("buildings", ["id", "locality_id", "neighbourhood_id", "prev_thoroughfare_id",
                                         "last_thoroughfare_id", "lat", "lon", "geocode_quality"])
        self._text: dict[str, list[Any]] = {}
        units = np.empty(n, dtype=_UNIT)
        units["id"] = u["id"][order]
        units["building"] = _rows_of(b["id"], u["building_id"][order])
        del u
        floors = reader.columns("units", ["floor"])["floor"][order]
        units["floor"] = np.fromiter((_NO_FLOOR if f is None else f for f in floors), np.int16, n)
        del floors
        for col in ("unit", "usage", "status", "valid_from", "valid_to"):
            units[col], self._text[col] = _encode(reader.columns("units", [col])[col][order], n)
        self._units = units

        m = len(b["id"])
        loc = reader.columns("localities", ["id", "type", "name", "province_code", "county_code", "district_code",
                                            "rural_district_code"])
        hoods = reader.columns("neighbourhoods", ["id", "name"])
        th = reader.columns("thoroughfares", ["id", "type", "name"])
        buildings = np.empty(m, dtype=_BUILDING)
        buildings["id"] = b["id"]
        buildings["locality"] = _rows_of(loc["id"], b["locality_id"])
        buildings["neighbourhood"] = _rows_of(hoods["id"], b["neighbourhood_id"])
        buildings["prev"] = _rows_of(th["id"], b["prev_thoroughfare_id"])
        buildings["last"] = _rows_of(th["id"], b["last_thoroughfare_id"])
        for col, src in (("plate", "plate"), ("entrance", "entrance"), ("name", "name"), ("source", "geocode_source")):
            buildings[col], self._text[col] = _encode(reader.columns("buildings", [src])[src], m)
        buildings["lat"], buildings["lon"] = b["lat"], b["lon"]
        buildings["quality"] = b["geocode_quality"]
        self._buildings = buildings

        names = {t: dict(zip(c["code"], c["name"], strict=True)) for t, c in
                 ((t, reader.columns(t, ["code", "name"])) for t in
                  ("provinces", "counties", "districts", "rural_districts"))}
        # (province, county, district, rural district, type, name); a None province or county means the
        # store's inner join finds no row for the unit.
        self._locality = [
            (names["provinces"].get(p), names["counties"].get(c), names["districts"].get(d) or "",
             names["rural_districts"].get(r) or "", t, nm)
            for t, nm, p, c, d, r in zip(loc["type"], loc["name"], loc["province_code"], loc["county_code"],
                                          loc["district_code"], loc["rural_district_code"], strict=True)]
        self._hood = list(hoods["name"])
        # Values converted once here as row_to_address converts them per row (a test holds both equal).
        self._thoroughfare = [_thoroughfare(t, nm) for t, nm in zip(th["type"], th["name"], strict=True)]
        for col in ("valid_from", "valid_to"):
            self._text[col] = [_date(v) for v in self._text[col]]
        for col in ("plate", "entrance", "name", "unit"):
            self._text[col] = [v or "" for v in self._text[col]]

    @classmethod
    def from_registry(cls, registry: Registry) -> AddressTable:
        """Read every unit of ``registry`` into memory."""
        return cls(registry.reader)

    def __len__(self) -> int:
        return len(self.postcodes)

    @property
    def nbytes(self) -> int:
        """Bytes held by the numpy columns (the string tables are small next to them)."""
        return int(self.postcodes.nbytes + self._units.nbytes + self._buildings.nbytes)

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
        pos = bisect_left(view, postcode)
        return pos if pos < len(view) and view[pos] == postcode else -1

    def address(self, row: int) -> Address | None:
        """The address at ``row``; None when its building or locality is missing (as the store's join)."""
        unit = self._units.item(row)
        b = unit[1]
        return None if b < 0 else self._address(self.postcodes.item(row), unit, self._buildings.item(b))

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
            self._hood[hood] if hood >= 0 else "",
            self._thoroughfare[prev] if prev >= 0 else "", self._thoroughfare[last] if last >= 0 else "",
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

        Row layouts are ``_UNIT`` and ``_BUILDING``, text columns as codes (for readers in this package).
        """
        # The rows are gathered with one fancy index per array and turned into tuples in C, rather than
        # read row by row: at a thousand postcodes per request this was a fifth of the answer's time.
        rows = self.rows(postcodes)
        found = rows[rows >= 0]
        units = self._units[found]
        building_rows = units["building"]
        buildings = self._buildings[np.maximum(building_rows, 0)].tolist()  # a -1 row is refused below
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
        return None if row < 0 else str(self._text["status"][self._units.item(row)[5]])

    def lookup(self, postcode: str) -> Address | None:
        """As :meth:`jinef.Registry.lookup`: any written form; invalid input raises PostcodeError."""
        return self.get(pc.to_int(postcode))
