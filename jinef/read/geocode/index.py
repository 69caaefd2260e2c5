"""What the geocoder searches, read from the image: names by match key, and the places behind each key.

Nothing here is a Python object per unit, building or thoroughfare: those are memory-mapped columns (with
memoryviews for the element-at-a-time reads of the scoring loop). Small tables — localities, neighbourhood
names, the few thousand distinct street names, plates and unit labels — are decoded once per process.

- names → rows: sorted distinct match keys with CSR postings (:meth:`GeocodeIndex.localities_named`, …);
  a thoroughfare key's postings are sorted by locality, so the streets of one name in given localities are
  a binary search each (:meth:`GeocodeIndex.thoroughfares_named`).
- buildings are in image order (by last thoroughfare, then plate): ``b_key`` = last · 2²¹ + plate code is
  searchable for many thoroughfares at once, and a thoroughfare's buildings are the run ``th_b_off``.
- a building's active units are ``b_units[b_u_off[b]:b_u_off[b + 1]]`` (unit rows of the address table).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

import numpy as np

from jinef.image.folder import ReadImage
from jinef.image.layout import NO_FLOOR, NUMERIC_PLATE_LIMIT, PLATE_SHIFT, numeric_plate_code, plate_key
from jinef.model.address import Address, standard_address
from jinef.read.registry.address_table import AddressTable
from jinef.text.keys import match_key

__all__ = ["NO_FLOOR", "PLATE_SHIFT", "GeocodeIndex", "unit_key"]

unit_key = plate_key  # comparison form of a plate, entrance or unit number


def _view(arr: np.ndarray) -> memoryview:
    """Plain Python values per element; a strided field of a record array is viewed in place, never copied."""
    return arr.data


class _Postings:
    """Sorted distinct keys and, per key, the rows that carry it (optionally sorted by a column within a key)."""

    def __init__(self, image: ReadImage, prefix: str, within: np.ndarray | None = None) -> None:
        keys = image.strings(f"geocode/{prefix}.keys")
        self.keys: list[str] = keys.tolist()  # a few thousand: a dict and a list for fuzzy matching
        self.key_id = {k: i for i, k in enumerate(self.keys)}
        self.offsets = image.array(f"geocode/{prefix}.offsets")
        self.rows = image.array(f"geocode/{prefix}.rows")
        self._offsets = _view(self.offsets)
        self._within_arr = within[self.rows] if within is not None else None
        self._within = _view(self._within_arr) if self._within_arr is not None and len(self.rows) else None

    def of(self, key: str) -> np.ndarray:
        """Every row carrying ``key`` (empty when none)."""
        k = self.key_id.get(key)
        if k is None:
            return self.rows[:0]
        return self.rows[self._offsets[k]:self._offsets[k + 1]]

    def count(self, key: str) -> int:
        """How many rows carry ``key``."""
        k = self.key_id.get(key)
        return 0 if k is None else self._offsets[k + 1] - self._offsets[k]

    def of_within(self, key: str, values: list[int]) -> list[int]:
        """The rows carrying ``key`` whose ``within`` column is one of ``values`` (sorted ascending).

        A binary search per value when they are few next to the key's rows, else one vectorised filter.
        """
        k = self.key_id.get(key)
        if k is None or self._within is None or self._within_arr is None:
            return []
        lo, hi = self._offsets[k], self._offsets[k + 1]
        if len(values) * 2 * max(1, (hi - lo).bit_length()) > hi - lo:
            return self.rows[lo:hi][np.isin(self._within_arr[lo:hi], values)].tolist()
        within, rows = self._within, self.rows
        out: list[int] = []
        for v in values:
            a = bisect_left(within, v, lo, hi)
            b = bisect_right(within, v, a, hi)
            if b > a:
                out.extend(rows[a:b].tolist())
        return out


class GeocodeIndex:
    """The geocoder's view of a read image (made in milliseconds; shares the image's memory)."""

    def __init__(self, image: ReadImage, table: AddressTable) -> None:
        self.image = image
        self.table = table
        a = image.array
        # Localities (tens of thousands): decoded once, with their province and county names and keys.
        self.province_names = image.strings("admin/provinces.name").tolist()
        self.county_names = image.strings("admin/counties.name").tolist()
        self.loc_type: list[str] = image.strings("localities/type").tolist()
        self.loc_name: list[str] = image.strings("localities/name").tolist()
        self.loc_province_row = np.asarray(a("localities/province"))
        self.loc_county_row = np.asarray(a("localities/county"))
        self.loc_lat, self.loc_lon = a("localities/lat"), a("localities/lon")
        self.loc_province = [self.province_names[p] if p >= 0 else "" for p in self.loc_province_row.tolist()]
        self.loc_county = [self.county_names[c] if c >= 0 else "" for c in self.loc_county_row.tolist()]
        self.n_loc = len(self.loc_name)
        self.loc_type_codes = {t: i for i, t in enumerate(dict.fromkeys(self.loc_type))}
        self.loc_type_code = np.array([self.loc_type_codes[t] for t in self.loc_type], dtype=np.int16)
        # Province and county keys → rows (a province or county name written any way people write it).
        self.province_rows: dict[str, list[int]] = {}
        for i, n in enumerate(self.province_names):
            self.province_rows.setdefault(match_key(n), []).append(i)
        self.county_rows: dict[str, list[int]] = {}
        for i, n in enumerate(self.county_names):
            self.county_rows.setdefault(match_key(n), []).append(i)
        self.province_keys_all = list(self.province_rows)
        self.county_keys_all = list(self.county_rows)
        self.loc_province_key = [match_key(n) for n in self.loc_province]
        self.loc_county_key = [match_key(n) for n in self.loc_county]
        self.loc_province_key_arr = np.array(self.loc_province_key, dtype=object)
        self.loc_county_key_arr = np.array(self.loc_county_key, dtype=object)

        self.localities = _Postings(image, "localities")
        self.nb_loc = np.asarray(a("neighbourhoods/locality"))
        self.nb_name: list[str] = image.strings("neighbourhoods/name").tolist()
        self.neighbourhoods = _Postings(image, "neighbourhoods", self.nb_loc)

        # Thoroughfares (millions): columns and memoryviews; names and types as codes into small tables.
        self.th_loc = a("thoroughfares/locality")
        self.th_type_code = a("thoroughfares/type")
        self.th_name_code = a("thoroughfares/name")
        self.th_types = [*image.strings("thoroughfares/type.values").tolist(), ""]
        self.th_names = [*image.strings("thoroughfares/name.values").tolist(), ""]
        self.th_type_keys = [match_key(t) for t in self.th_types]
        self.thoroughfares = _Postings(image, "thoroughfares", self.th_loc)
        self.th_b_off = a("geocode/thoroughfares.buildings")
        self.th_uniform = a("geocode/thoroughfares.uniform")
        self.th_prev = a("geocode/thoroughfares.prev")
        self.th_nb = a("geocode/thoroughfares.neighbourhood")
        self.th_lat, self.th_lon = a("geocode/thoroughfares.lat"), a("geocode/thoroughfares.lon")

        # Buildings and units.
        self.b_key = a("geocode/buildings.key")
        b = self.b_rows = image.array("buildings/rows")
        self.b_id = b["id"]
        self.b_loc, self.b_nb = b["locality"], b["neighbourhood"]
        self.b_prev, self.b_last = b["prev"], b["last"]
        self.b_lat, self.b_lon = b["lat"], b["lon"]
        self.b_plate_code, self.b_entrance_code = b["plate"], b["entrance"]
        self.b_name_code = b["name"]
        self.plates = [*image.strings("buildings/plate.values").tolist(), ""]
        self.entrances = [*image.strings("buildings/entrance.values").tolist(), ""]
        self.building_names = [*image.strings("buildings/name.values").tolist(), ""]
        self.entrance_keys = [unit_key(e) for e in self.entrances]
        self.building_name_keys = [match_key(n) for n in self.building_names]
        self.plate_codes = {unit_key(p): (c if c >= 0 else NUMERIC_PLATE_LIMIT + i)
                            for i, (p, c) in enumerate((p, numeric_plate_code(p)) for p in self.plates[:-1])}
        self.b_u_off = a("units/active_offsets")
        self.b_units = a("units/active")
        self.u_floor = image.field("units", "floor")
        self.u_label = image.field("units", "unit")
        self.u_postcode = a("units/postcode")
        self.labels = [*image.strings("units/unit.values").tolist(), ""]
        self.label_keys = [unit_key(x) for x in self.labels]
        self.label_key_arr = np.array(self.label_keys, dtype=object)
        self.u_rows = image.array("units/rows")
        # Element-at-a-time reads in the scoring loop: plain ints, no numpy scalars. (A record's fields are read
        # with its whole row, ``b_rows.item(b)``: a memoryview cannot hand out a strided field's elements.)
        self.v_th_loc, self.v_th_prev, self.v_th_nb = _view(self.th_loc), _view(self.th_prev), _view(self.th_nb)
        self.v_th_b_off, self.v_th_type_code = _view(self.th_b_off), _view(self.th_type_code)
        self.v_b_key, self.v_b_u_off, self.v_b_units = _view(self.b_key), _view(self.b_u_off), _view(self.b_units)
        self.v_u_postcode = _view(self.u_postcode)

    # -- names --------------------------------------------------------------------------

    def plate_code(self, plate: str) -> int:
        """The search code of a written plate (-1 when no building has that plate)."""
        c = numeric_plate_code(plate)
        return c if c >= 0 else self.plate_codes.get(unit_key(plate), -1)

    def th_type_key(self, t: int) -> str:
        """Match key of a thoroughfare's type word."""
        return self.th_type_keys[self.v_th_type_code[t]]

    def th_text(self, t: int) -> str:
        """A thoroughfare as the model writes it: «کوچه دوازدهم»."""
        return self.table.thoroughfare(t)

    def building(self, b: int) -> tuple[Any, ...]:
        """A building's record: id, locality, neighbourhood, prev, last, plate, entrance, name (codes), lat, lon,
        source, quality."""
        return self.b_rows.item(b)

    def b_plate(self, b: int) -> str:
        """A building's plate as written."""
        return self.plates[self.building(b)[5]]

    def b_entrance(self, b: int) -> str:
        """A building's entrance as written ('' for none)."""
        return self.entrances[self.building(b)[6]]

    def b_name(self, b: int) -> str:
        """A building's name ('' for none)."""
        return self.building_names[self.building(b)[7]]

    # -- units ----------------------------------------------------------------------------

    def units_of(self, b: int) -> list[int]:
        """A building's active unit rows, in postcode order."""
        return self.b_units[self.v_b_u_off[b]:self.v_b_u_off[b + 1]].tolist()

    def unit_count(self, b: int) -> int:
        """How many active units a building has."""
        return self.v_b_u_off[b + 1] - self.v_b_u_off[b]

    def unit_by_postcode(self, postcode: int) -> int:
        """The unit row of a postcode, or -1."""
        return self.table.row(postcode)

    def unit(self, u: int) -> tuple[Any, ...]:
        """A unit's record: id, building, floor, unit label, usage, status, valid from, valid to (codes)."""
        return self.u_rows.item(u)

    def unit_building(self, u: int) -> int:
        """The building row of a unit row."""
        return int(self.table.unit_row(u)[1])

    def is_active(self, u: int) -> bool:
        """Whether a unit row is an active unit."""
        return self.table.texts("status")[self.table.unit_row(u)[5]] == "active"

    # -- answers --------------------------------------------------------------------------

    def address(self, b: int, u: int = -1) -> Address:
        """The model's Address of a building (``u`` = -1: without floor, unit and postcode)."""
        if u >= 0:
            a = self.table.address(u)
            if a is not None:
                return a
        bid, loc, nb, prev, last, plate, entrance, name, lat, lon, _, _ = self.building(b)
        return Address(
            postcode="", province=self.loc_province[loc], county=self.loc_county[loc],
            district=self.table.locality(loc)[2], rural_district=self.table.locality(loc)[3],
            locality_type=self.loc_type[loc], locality=self.loc_name[loc],
            neighbourhood=self.nb_name[nb] if nb >= 0 else "", prev_thoroughfare=self.th_text(prev),
            last_thoroughfare=self.th_text(last), plate=self.plates[plate], entrance=self.entrances[entrance],
            building=self.building_names[name], floor=None, unit="", usage="", lat=lat, lon=lon, building_id=bid)

    def thoroughfare_address(self, t: int) -> str:
        """The standard address of a thoroughfare: its locality, neighbourhood, the street above it, itself."""
        loc, nb, prev = self.v_th_loc[t], self.v_th_nb[t], self.v_th_prev[t]
        _, _, district, rural, _, _ = self.table.locality(loc)
        return standard_address(Address(
            postcode="", province=self.loc_province[loc], county=self.loc_county[loc], district=district or "",
            rural_district=rural or "", locality_type=self.loc_type[loc], locality=self.loc_name[loc],
            neighbourhood=self.nb_name[nb] if nb >= 0 else "", prev_thoroughfare=self.th_text(prev),
            last_thoroughfare=self.th_text(t), plate="", entrance="", building="", floor=None, unit="", usage="",
            lat=float(self.th_lat[t]), lon=float(self.th_lon[t])))

    def standard_address(self, b: int, u: int = -1) -> str:
        """The standard address of a building, or of one of its units."""
        return standard_address(self.address(b, u))

    def stats(self) -> dict[str, Any]:
        """Sizes of what is searched."""
        return {"localities": self.n_loc, "neighbourhoods": len(self.nb_name), "thoroughfares": len(self.th_loc),
                "thoroughfare_keys": len(self.thoroughfares.keys), "buildings": len(self.b_id),
                "units": len(self.u_postcode)}
