"""The registry's tables as the read image holds them: sorted, joined by row number, text as codes.

Every other part of the image (geocoder, reverse grid, autocomplete) is derived from the arrays made here,
which are also kept in memory (:class:`Tables`) for them, so the store is read once. Large tables are read
in chunks and their text columns encoded chunk by chunk: a national table's text as one Python string per
row would take gigabytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jinef.image.folder import ImageWriter
from jinef.image.layout import (
    BUILDING_RECORD,
    NO_FLOOR,
    NO_ROW,
    NUMERIC_PLATE_LIMIT,
    PLATE_SHIFT,
    UNIT_RECORD,
    numeric_plate_code,
)
from jinef.store.base import RegistryReader

CHUNK_ROWS = 1_000_000


class TextCodes:
    """Distinct values of a text column in first-seen order; NULL gets the code -1."""

    def __init__(self) -> None:
        self._codes: dict[Any, int] = {}

    def encode(self, values: Iterable[Any], n: int) -> np.ndarray:
        """Codes of ``n`` values (int32; None's code is fixed up by :meth:`finish`)."""
        codes = self._codes
        return np.fromiter((codes.setdefault(v, len(codes)) for v in values), dtype=np.int32, count=n)

    def finish(self, codes: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """(codes with NULL as -1 and the others renumbered, the distinct non-NULL values as text)."""
        values = list(self._codes)
        remap = np.empty(len(values) + 1, dtype=np.int32)
        kept: list[str] = []
        for old, v in enumerate(values):
            if v is None:
                remap[old] = NO_ROW
            else:
                remap[old] = len(kept)
                kept.append(str(v))
        remap[-1] = NO_ROW
        return remap[codes], kept


def rows_of(ids: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Row of each referenced id in the ascending ``ids`` (-1 for NULL or an id that is not there)."""
    if len(ids) == 0:
        return np.full(len(refs), NO_ROW, dtype=np.int32)
    pos = np.searchsorted(ids, refs).clip(0, len(ids) - 1)
    return np.where((refs >= 0) & (ids[pos] == refs), pos, NO_ROW).astype(np.int32)


def _chunks(reader: RegistryReader, table: str, names: list[str]) -> Iterator[dict[str, np.ndarray]]:
    return reader.column_chunks(table, names, CHUNK_ROWS)


@dataclass
class Tables:
    """What the compiler keeps in memory for the other parts of the image (rows as stored in the image)."""

    province_names: list[str]
    county_names: list[str]
    county_province: np.ndarray  # province row of each county
    district_names: list[str]
    rural_names: list[str]
    loc_type: list[str]  # per locality
    loc_name: list[str]
    loc_province: np.ndarray  # rows (-1: none)
    loc_county: np.ndarray
    loc_district: np.ndarray
    loc_rural: np.ndarray
    loc_lat: np.ndarray
    loc_lon: np.ndarray
    nb_locality: np.ndarray
    nb_name: list[str]
    th_locality: np.ndarray
    th_type: np.ndarray  # codes into th_types
    th_types: list[str]
    th_name: np.ndarray  # codes into th_names
    th_names: list[str]
    buildings: np.ndarray  # BUILDING_RECORD, in image order
    b_key: np.ndarray  # last thoroughfare row << PLATE_SHIFT | plate code (ascending)
    plates: list[str]
    entrances: list[str]
    building_names: list[str]
    b_units_offsets: np.ndarray  # active units of building b: b_units[b_units_offsets[b]:b_units_offsets[b + 1]]
    b_units: np.ndarray  # unit rows (postcode order within a building)
    postcodes: np.ndarray  # per unit row (ascending)
    unit_floor: np.ndarray
    unit_label: np.ndarray  # codes into unit_labels
    unit_labels: list[str]
    meta: dict[str, str] = field(default_factory=dict)


def _division(reader: RegistryReader, table: str) -> tuple[list[str], list[str]]:
    c = reader.columns(table, ["code", "name"])
    return [str(x) for x in c["code"]], [str(x) for x in c["name"]]


def compile_tables(reader: RegistryReader, out: ImageWriter) -> Tables:
    """Read every table once, write the address arrays into ``out``, and return them for the other parts."""
    province_codes, province_names = _division(reader, "provinces")
    counties = reader.columns("counties", ["code", "name", "province_code"])
    district_codes, district_names = _division(reader, "districts")
    rural_codes, rural_names = _division(reader, "rural_districts")
    county_codes = [str(x) for x in counties["code"]]
    county_names = [str(x) for x in counties["name"]]

    def row_in(codes: list[str], values: np.ndarray) -> np.ndarray:
        pos = {c: i for i, c in enumerate(codes)}
        return np.array([pos.get(v, NO_ROW) if v is not None else NO_ROW for v in values], dtype=np.int32)

    county_province = row_in(province_codes, counties["province_code"])
    for name, codes, names in (("provinces", province_codes, province_names), ("counties", county_codes, county_names),
                               ("districts", district_codes, district_names), ("rural_districts", rural_codes,
                                                                             rural_names)):
        out.strings(f"admin/{name}.code", codes)
        out.strings(f"admin/{name}.name", names)
    out.array("admin/counties.province", county_province)

    loc = reader.columns("localities", ["id", "type", "name", "code", "province_code", "county_code", "district_code",
                                        "rural_district_code", "lat", "lon"])
    loc_type = [str(x) for x in loc["type"]]
    loc_name = [str(x) for x in loc["name"]]
    loc_province = row_in(province_codes, loc["province_code"])
    loc_county = row_in(county_codes, loc["county_code"])
    loc_district = row_in(district_codes, loc["district_code"])
    loc_rural = row_in(rural_codes, loc["rural_district_code"])
    out.array("localities/id", loc["id"])
    out.strings("localities/type", loc_type)
    out.strings("localities/name", loc_name)
    out.strings("localities/code", ["" if c is None else str(c) for c in loc["code"]])
    for col, arr in (("province", loc_province), ("county", loc_county), ("district", loc_district),
                     ("rural_district", loc_rural), ("lat", loc["lat"]), ("lon", loc["lon"])):
        out.array(f"localities/{col}", arr)

    nbh = reader.columns("neighbourhoods", ["id", "locality_id", "name"])
    nb_locality = rows_of(loc["id"], nbh["locality_id"])
    nb_name = ["" if n is None else str(n) for n in nbh["name"]]
    out.array("neighbourhoods/id", nbh["id"])
    out.array("neighbourhoods/locality", nb_locality)
    out.strings("neighbourhoods/name", nb_name)

    th_ids, th_loc_ids = [], []
    th_type_codes, th_name_codes = TextCodes(), TextCodes()
    th_type_parts, th_name_parts = [], []
    for c in _chunks(reader, "thoroughfares", ["id", "locality_id", "type", "name"]):
        n = len(c["id"])
        th_ids.append(c["id"])
        th_loc_ids.append(c["locality_id"])
        th_type_parts.append(th_type_codes.encode(c["type"], n))
        th_name_parts.append(th_name_codes.encode(c["name"], n))
    th_id = _cat(th_ids, np.int64)
    th_locality = rows_of(loc["id"], _cat(th_loc_ids, np.int64))
    th_type, th_types = th_type_codes.finish(_cat(th_type_parts, np.int32))
    th_name, th_names = th_name_codes.finish(_cat(th_name_parts, np.int32))
    out.array("thoroughfares/id", th_id)
    out.array("thoroughfares/locality", th_locality)
    out.array("thoroughfares/type", th_type)
    out.strings("thoroughfares/type.values", th_types)
    out.array("thoroughfares/name", th_name)
    out.strings("thoroughfares/name.values", th_names)

    buildings, texts, b_id, b_key = _read_buildings(reader, loc["id"], nbh["id"], th_id)
    units = _read_units(reader, b_id, buildings)
    (records, postcodes, unit_texts, floors, b_units_offsets, b_units) = units
    for col, values in texts.items():
        out.strings(f"buildings/{col}.values", values)
    for col in BUILDING_RECORD.names or ():
        out.array(f"buildings/{col}", buildings[col])
    for col, values in unit_texts.items():
        out.strings(f"units/{col}.values", values)
    out.array("units/postcode", postcodes)
    for col in UNIT_RECORD.names or ():
        out.array(f"units/{col}", records[col])
    out.array("units/active_offsets", b_units_offsets)
    out.array("units/active", b_units)
    return Tables(
        province_names=province_names, county_names=county_names, county_province=county_province,
        district_names=district_names, rural_names=rural_names, loc_type=loc_type, loc_name=loc_name,
        loc_province=loc_province, loc_county=loc_county, loc_district=loc_district, loc_rural=loc_rural,
        loc_lat=np.asarray(loc["lat"], np.float64), loc_lon=np.asarray(loc["lon"], np.float64),
        nb_locality=nb_locality, nb_name=nb_name, th_locality=th_locality, th_type=th_type, th_types=th_types,
        th_name=th_name, th_names=th_names, buildings=buildings, b_key=b_key, plates=texts["plate"],
        entrances=texts["entrance"],
        building_names=texts["name"], b_units_offsets=b_units_offsets, b_units=b_units, postcodes=postcodes,
        unit_floor=floors, unit_label=records["unit"], unit_labels=unit_texts["unit"], meta=reader.meta())


def _cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _read_buildings(reader: RegistryReader, loc_ids: np.ndarray, nb_ids: np.ndarray, th_ids: np.ndarray
                    ) -> tuple[np.ndarray, dict[str, list[str]], np.ndarray, np.ndarray]:
    """Buildings in image order (by last thoroughfare, plate code, id), their text tables, and their ids as
    stored (ascending, for mapping units' building ids), and the geocoder's search key of each (image order)."""
    numeric = ["id", "locality_id", "neighbourhood_id", "prev_thoroughfare_id", "last_thoroughfare_id", "lat", "lon",
               "geocode_quality"]
    texts = {"plate": TextCodes(), "entrance": TextCodes(), "name": TextCodes(), "source": TextCodes()}
    source_col = {"plate": "plate", "entrance": "entrance", "name": "name", "source": "geocode_source"}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in [*numeric, *texts]}
    for c in _chunks(reader, "buildings", [*numeric, *source_col.values()]):
        n = len(c["id"])
        for k in numeric:
            parts[k].append(c[k])
        for k, enc in texts.items():
            parts[k].append(enc.encode(c[source_col[k]], n))
    col = {k: _cat(parts[k], np.float64 if k in ("lat", "lon") else np.int64) for k in numeric}
    text_values: dict[str, list[str]] = {}
    codes: dict[str, np.ndarray] = {}
    for k, enc in texts.items():
        codes[k], text_values[k] = enc.finish(_cat(parts[k], np.int32))
    del parts
    last = rows_of(th_ids, col["last_thoroughfare_id"])
    # Plate codes for the geocoder's search: a number is itself, any other plate (and none) a code above them.
    plate_codes = np.array([c if c >= 0 else NUMERIC_PLATE_LIMIT + i
                            for i, c in enumerate(numeric_plate_code(p) for p in text_values["plate"])]
                           + [NUMERIC_PLATE_LIMIT + len(text_values["plate"])], dtype=np.int64)
    key = last.astype(np.int64) << PLATE_SHIFT | plate_codes[codes["plate"]]
    order = np.lexsort((col["id"], key))
    m = len(order)
    b = np.empty(m, dtype=BUILDING_RECORD)
    b["id"] = col["id"][order]
    b["locality"] = rows_of(loc_ids, col["locality_id"][order])
    b["neighbourhood"] = rows_of(nb_ids, col["neighbourhood_id"][order])
    b["prev"] = rows_of(th_ids, col["prev_thoroughfare_id"][order])
    b["last"] = last[order]
    for k in ("plate", "entrance", "name", "source"):
        b[k] = codes[k][order]
    b["lat"], b["lon"] = col["lat"][order], col["lon"][order]
    b["quality"] = col["geocode_quality"][order]
    return b, text_values, col["id"], key[order]


def _read_units(reader: RegistryReader, b_id_sorted: np.ndarray, buildings: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, dict[str, list[str]], np.ndarray, np.ndarray, np.ndarray]:
    """Units in postcode order (records, postcodes, text tables, floors) and each building's active units."""
    texts = {k: TextCodes() for k in ("unit", "usage", "status", "valid_from", "valid_to")}
    numeric = ("id", "postcode", "building_id")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in [*numeric, "floor", *texts]}
    for c in _chunks(reader, "units", [*numeric, "floor", *texts]):
        n = len(c["id"])
        for k in numeric:
            parts[k].append(c[k])
        parts["floor"].append(np.fromiter((NO_FLOOR if f is None else f for f in c["floor"]), np.int16, n))
        for k, enc in texts.items():
            parts[k].append(enc.encode(c[k], n))
    postcode = _cat(parts.pop("postcode"), np.int64)
    order = np.argsort(postcode, kind="stable")
    n = len(order)
    u = np.empty(n, dtype=UNIT_RECORD)
    u["id"] = _cat(parts.pop("id"), np.int64)[order]
    # Stored building id → image row: ids ascend in b_id_sorted; image rows come from the buildings' own order.
    by_id = np.argsort(buildings["id"], kind="stable")
    pos = rows_of(b_id_sorted, _cat(parts.pop("building_id"), np.int64)[order])
    u["building"] = np.where(pos >= 0, by_id[np.maximum(pos, 0)], NO_ROW)
    u["floor"] = _cat(parts.pop("floor"), np.int16)[order]
    values: dict[str, list[str]] = {}
    for k, enc in texts.items():
        codes, values[k] = enc.finish(_cat(parts.pop(k), np.int32))
        u[k] = codes[order]
    postcodes = postcode[order]
    # Each building's active units, in postcode order (unit rows ascend with the postcode).
    active_code = values["status"].index("active") if "active" in values["status"] else -2
    active_rows = np.flatnonzero((u["status"] == active_code) & (u["building"] >= 0)).astype(np.int32)
    by_building = np.argsort(u["building"][active_rows], kind="stable")
    b_units = active_rows[by_building]
    offsets = np.searchsorted(u["building"][b_units], np.arange(len(buildings) + 1)).astype(np.int64)
    return u, postcodes, values, u["floor"].copy(), offsets, b_units
