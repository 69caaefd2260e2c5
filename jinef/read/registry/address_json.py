"""A unit's JSON answer: the reference definition, and the same bytes written straight from the address table.

:func:`unit_json` defines the JSON of one unit (the HTTP API's ``PostcodeResult``). A batch answer of a
thousand units built that way spends most of its time on Python objects that exist only to be encoded:
an :class:`Address`, two dicts, a dozen small strings each. :class:`AddressJson` writes the same bytes
from the table's columns instead, with every value that repeats across units (a locality's six fields,
a usage, a status, a plate label) encoded once, when first seen. A test holds its bytes equal to
``orjson.dumps(unit_json(address))`` for every unit of a registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import orjson

from jinef.model.address import Address, admin_line, building_part, fa_digits, floor_text, neighbourhood_part
from jinef.read.registry.address_table import _NO_FLOOR, AddressSource, AddressTable

_dumps = orjson.dumps
# unit_json's key order, with each value already JSON (the postcode as 10 digits).
_UNIT_JSON = (b'{"postcode":"%010d","status":%s,"address":{%s,"neighbourhood":%s,"prev_thoroughfare":%s,'
              b'"last_thoroughfare":%s,"plate":%s,"entrance":%s,"building":%s,"floor":%s,"unit":%s,"usage":%s},'
              b'"standard_address":%s,"location":%s}')
_UNSEEN = object()


def unit_json(a: Address) -> dict[str, Any]:
    """The JSON of one unit (plain dict: serialised without re-validation on the hot path)."""
    location = None
    if a.lat is not None and a.lon is not None:
        location = {"lat": a.lat, "lon": a.lon, "source": a.geocode_source, "quality": a.geocode_quality}
    return {
        "postcode": a.postcode,
        "status": a.status,
        "address": {  # StructuredAddress's fields, written out: this runs for every address answered
            "province": a.province, "county": a.county, "district": a.district, "rural_district": a.rural_district,
            "locality_type": a.locality_type, "locality": a.locality, "neighbourhood": a.neighbourhood,
            "prev_thoroughfare": a.prev_thoroughfare, "last_thoroughfare": a.last_thoroughfare, "plate": a.plate,
            "entrance": a.entrance, "building": a.building, "floor": a.floor, "unit": a.unit, "usage": a.usage},
        "standard_address": a.standard_address,
        "location": location,
    }


def _labelled(prefix: str | Callable[[str], str], texts: Sequence[str]) -> list[tuple[bytes, str]]:
    """Each text as JSON bytes, and as its standard-address part ('' when empty)."""
    part = prefix if callable(prefix) else lambda t: f"{prefix}{fa_digits(t)}"
    return [(_dumps(t), part(t) if t else "") for t in texts]


class AddressJson:
    """``orjson.dumps(unit_json(address))`` for postcodes, written from an :class:`AddressTable`."""

    def __init__(self, table: AddressTable) -> None:
        self._table = table
        text = table.texts
        self._status = [_dumps(s) for s in text("status")]
        self._usage = [_dumps(s) for s in text("usage")]
        self._source = list(text("source"))
        self._unit = _labelled("واحد ", text("unit"))
        self._plate = _labelled("پلاک ", text("plate"))
        self._entrance = _labelled("ورودی ", text("entrance"))
        self._name = _labelled(building_part, text("name"))
        self._hood = _labelled(neighbourhood_part, table.hood_names)
        # Localities and thoroughfares are encoded when first asked for: a national registry has a few
        # tens of thousands of localities (all kept) but millions of thoroughfares (the most recently
        # asked kept, so a long-running worker does not end up holding all of them twice).
        self._locality: dict[int, tuple[bytes, str] | None] = {}
        self._thoroughfare = lru_cache(maxsize=1 << 16)(self._thoroughfare_of)
        self._floor = lru_cache(maxsize=256)(self._floor_of)

    def _locality_of(self, row: int) -> tuple[bytes, str] | None:
        province, county, district, rural, ltype, lname = self._table.locality(row)
        if province is None or county is None:
            return None  # as the table: the store's join finds no address for such a unit
        fields = {"province": province, "county": county, "district": district, "rural_district": rural,
                  "locality_type": ltype, "locality": lname}
        return _dumps(fields)[1:-1], admin_line(province, county, district, rural, ltype, lname)

    def _thoroughfare_of(self, row: int) -> tuple[bytes, str]:
        if row < 0:
            return b'""', ""
        t = self._table.thoroughfare(row)
        return _dumps(t), fa_digits(t)

    def _floor_of(self, floor: int) -> tuple[bytes, str]:
        if floor == _NO_FLOOR:
            return b"null", ""
        return str(floor).encode(), "طبقه " + floor_text(floor)

    def encode_many(self, postcodes: Sequence[int]) -> list[bytes | None]:
        """Each postcode's unit JSON (integers in, input order), None where it has no address."""
        localities, thoroughfares, floors = self._locality, self._thoroughfare, self._floor
        status_j, usage_j, sources = self._status, self._usage, self._source
        unit_j, plate_j, entrance_j, name_j, hood_j = self._unit, self._plate, self._entrance, self._name, self._hood
        out: list[bytes | None] = []
        for joined in self._table.joined(postcodes):
            if joined is None:
                out.append(None)
                continue
            postcode, unit, building = joined
            _, _, floor, label, usage, status, _, _ = unit
            _, loc, hood, prev, last, plate, entrance, name, lat, lon, source, quality = building
            locality = localities.get(loc, _UNSEEN)
            if locality is _UNSEEN:
                locality = localities[loc] = None if loc < 0 else self._locality_of(loc)
            if locality is None:
                out.append(None)
                continue
            assert isinstance(locality, tuple)
            prev_b, prev_s = thoroughfares(prev)
            last_b, last_s = thoroughfares(last)
            hood_b, hood_s = hood_j[hood] if hood >= 0 else (b'""', "")
            plate_b, plate_s = plate_j[plate]
            entrance_b, entrance_s = entrance_j[entrance]
            name_b, name_s = name_j[name]
            unit_b, unit_s = unit_j[label]
            floor_b, floor_s = floors(floor)
            # The standard address as model.standard_address builds it: non-empty parts, «، » between.
            line = "، ".join(filter(None, (locality[1], hood_s, prev_s, last_s, plate_s, entrance_s, name_s, floor_s,
                                          unit_s)))
            if lat != lat or lon != lon:  # NaN: no geocode
                location = b"null"
            else:
                location = _dumps({"lat": round(lat, 7), "lon": round(lon, 7), "source": sources[source],
                                   "quality": quality})
            out.append(_UNIT_JSON % (postcode, status_j[status], locality[0], hood_b, prev_b, last_b, plate_b,
                                     entrance_b, name_b, floor_b, unit_b, usage_j[usage], _dumps(line), location))
        return out

    @property
    def table(self) -> AddressTable:
        """The address table written from (also the source of :class:`Address` lookups)."""
        return self._table


class JsonFromAddresses:
    """The same bytes as :class:`AddressJson`, through :func:`unit_json`, for any :class:`AddressSource`."""

    def __init__(self, source: AddressSource) -> None:
        self._source = source

    def encode_many(self, postcodes: Sequence[int]) -> list[bytes | None]:
        """Each postcode's unit JSON, None where it has none."""
        return [None if a is None else _dumps(unit_json(a)) for a in self._source.get_many(postcodes)]
