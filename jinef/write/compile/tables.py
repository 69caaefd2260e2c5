"""The registry's tables as the read image holds them: sorted, joined by row number, text as codes.

Every other part of the image (geocoder, reverse grid, autocomplete) is derived from the arrays made here,
which are also kept in memory (:class:`Tables`) for them, so the store is read once. The large tables are
read as Arrow batches (in C, :meth:`jinef.write.store.base.RegistryReader.arrow_batches`) and their text columns
dictionary-encoded batch by batch: a national table's text as one Python string per row would take
gigabytes and minutes. Each sorted column is written to the image as soon as it is made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
from jinef.write.store.base import RegistryReader

BATCH_ROWS = 1_000_000


class TextCodes:
    """Distinct values of a text column, coded in first-seen order across batches; NULL is the code -1."""

    def __init__(self) -> None:
        self._codes: dict[str, int] = {}

    def encode(self, column: pa.Array) -> np.ndarray:
        """int32 codes of one batch's column (its distinct values looked up once each)."""
        d = pc.dictionary_encode(column)
        values = d.dictionary.to_pylist()
        codes = self._codes
        remap = np.array([codes.setdefault(v if isinstance(v, str) else str(v), len(codes)) for v in values]
                         + [NO_ROW], dtype=np.int32)
        return remap[pc.fill_null(d.indices, len(values)).to_numpy()]

    @property
    def values(self) -> list[str]:
        """The distinct values, each at its code."""
        return list(self._codes)


def rows_of(ids: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Row of each referenced id in the ascending ``ids`` (-1 for NULL or an id that is not there)."""
    if len(ids) == 0:
        return np.full(len(refs), NO_ROW, dtype=np.int32)
    pos = np.searchsorted(ids, refs).clip(0, len(ids) - 1)
    return np.where((refs >= 0) & (ids[pos] == refs), pos, NO_ROW).astype(np.int32)


def _ints(column: pa.Array, null: int = NO_ROW) -> np.ndarray:
    return pc.fill_null(column, null).to_numpy().astype(np.int64, copy=False)


def _floats(column: pa.Array) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)  # NULL is NaN


def _cat(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _read(reader: RegistryReader, table: str, ints: tuple[str, ...], floats: tuple[str, ...] = (),
          texts: tuple[str, ...] = ()) -> tuple[dict[str, np.ndarray], dict[str, TextCodes]]:
    """Whole columns of a table (in id order): numbers as arrays, text as codes with their tables."""
    parts: dict[str, list[np.ndarray]] = {c: [] for c in (*ints, *floats, *texts)}
    codes = {c: TextCodes() for c in texts}
    for batch in reader.arrow_batches(table, [*ints, *floats, *texts], BATCH_ROWS):
        for c in ints:
            parts[c].append(_ints(batch.column(c), NO_FLOOR if c == "floor" else NO_ROW))
        for c in floats:
            parts[c].append(_floats(batch.column(c)))
        for c in texts:
            parts[c].append(codes[c].encode(batch.column(c)))
    out = {c: _cat(parts.pop(c), np.int64) for c in ints}
    out |= {c: _cat(parts.pop(c), np.float64) for c in floats}
    out |= {c: _cat(parts.pop(c), np.int32) for c in texts}
    return out, codes


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
    buildings: dict[str, np.ndarray]  # BUILDING_RECORD's columns, in image order
    b_key: np.ndarray  # last thoroughfare row << PLATE_SHIFT | plate code (ascending)
    b_units_offsets: np.ndarray  # active units of building b: b_units[b_units_offsets[b]:b_units_offsets[b + 1]]
    b_units: np.ndarray  # unit rows (postcode order within a building)
    postcodes: np.ndarray  # per unit row (ascending)
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def n_buildings(self) -> int:
        """How many buildings."""
        return len(self.buildings["id"])


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

    th, th_text = _read(reader, "thoroughfares", ("id", "locality_id"), texts=("type", "name"))
    th_locality = rows_of(loc["id"], th["locality_id"])
    out.array("thoroughfares/id", th["id"])
    out.array("thoroughfares/locality", th_locality)
    out.array("thoroughfares/type", th["type"])
    out.strings("thoroughfares/type.values", th_text["type"].values)
    out.array("thoroughfares/name", th["name"])
    out.strings("thoroughfares/name.values", th_text["name"].values)

    buildings, b_key, b_ids = _buildings(reader, out, loc["id"], nbh["id"], th["id"])
    postcodes, b_units_offsets, b_units = _units(reader, out, b_ids, buildings["id"])
    return Tables(
        province_names=province_names, county_names=county_names, county_province=county_province,
        district_names=district_names, rural_names=rural_names, loc_type=loc_type, loc_name=loc_name,
        loc_province=loc_province, loc_county=loc_county, loc_district=loc_district, loc_rural=loc_rural,
        loc_lat=np.asarray(loc["lat"], np.float64), loc_lon=np.asarray(loc["lon"], np.float64),
        nb_locality=nb_locality, nb_name=nb_name, th_locality=th_locality, th_type=th["type"],
        th_types=th_text["type"].values, th_name=th["name"], th_names=th_text["name"].values,
        buildings=buildings, b_key=b_key, b_units_offsets=b_units_offsets, b_units=b_units, postcodes=postcodes,
        meta=reader.meta())


def _buildings(reader: RegistryReader, out: ImageWriter, loc_ids: np.ndarray, nb_ids: np.ndarray,
               th_ids: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Write the buildings in image order (by last thoroughfare, plate code, id); return their columns, their
    search keys, and their ids as stored (ascending, for mapping units' building ids)."""
    col, text = _read(reader, "buildings", ("id", "locality_id", "neighbourhood_id", "prev_thoroughfare_id",
                                            "last_thoroughfare_id", "geocode_quality"), ("lat", "lon"),
                      ("plate", "entrance", "name", "geocode_source"))
    plates = text["plate"].values
    last = rows_of(th_ids, col["last_thoroughfare_id"])
    # Plate codes for the geocoder's search: a number is itself, any other plate (and none) a code above them.
    plate_codes = np.array([c if c >= 0 else NUMERIC_PLATE_LIMIT + i
                            for i, c in enumerate(numeric_plate_code(p) for p in plates)]
                           + [NUMERIC_PLATE_LIMIT + len(plates)], dtype=np.int64)
    key = last.astype(np.int64) << PLATE_SHIFT | plate_codes[col["plate"]]
    order = np.lexsort((col["id"], key))
    ids_as_stored = col["id"]
    b: dict[str, np.ndarray] = {
        "id": ids_as_stored[order],
        "locality": rows_of(loc_ids, col.pop("locality_id")[order]),
        "neighbourhood": rows_of(nb_ids, col.pop("neighbourhood_id")[order]),
        "prev": rows_of(th_ids, col.pop("prev_thoroughfare_id")[order]),
        "last": last[order],
        "plate": col.pop("plate")[order], "entrance": col.pop("entrance")[order], "name": col.pop("name")[order],
        "lat": col.pop("lat")[order], "lon": col.pop("lon")[order],
        "source": col.pop("geocode_source")[order], "quality": col.pop("geocode_quality")[order]}
    # One record per building (and per unit): a lookup reads one cache line, not a dozen columns.
    records = np.empty(len(order), dtype=BUILDING_RECORD)
    for name in BUILDING_RECORD.names or ():
        records[name] = b[name]
    out.array("buildings/rows", records)
    del records
    for name, codes in (("plate", text["plate"]), ("entrance", text["entrance"]), ("name", text["name"]),
                        ("source", text["geocode_source"])):
        out.strings(f"buildings/{name}.values", codes.values)
    return b, key[order], ids_as_stored


def _units(reader: RegistryReader, out: ImageWriter, b_ids_as_stored: np.ndarray, b_image_ids: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write the units in postcode order; return their postcodes and each building's active units."""
    col, text = _read(reader, "units", ("id", "postcode", "building_id", "floor"),
                      texts=("unit", "usage", "status", "valid_from", "valid_to"))
    order = np.argsort(col["postcode"], kind="stable")
    postcodes = col.pop("postcode")[order]
    out.array("units/postcode", postcodes)
    # Stored building id → image row: ids ascend as stored; image rows follow the buildings' own order.
    by_id = np.argsort(b_image_ids, kind="stable")
    pos = rows_of(b_ids_as_stored, col.pop("building_id")[order])
    building = np.where(pos >= 0, by_id[np.maximum(pos, 0)], NO_ROW).astype(np.int32)
    del pos
    status = col["status"][order]
    columns = {"building": building, "status": status}
    records = np.empty(len(order), dtype=UNIT_RECORD)
    for name in UNIT_RECORD.names or ():
        records[name] = columns[name] if name in columns else col.pop(name)[order]
    out.array("units/rows", records)
    del records
    for name, codes in text.items():
        out.strings(f"units/{name}.values", codes.values)
    # Each building's active units, in postcode order (unit rows ascend with the postcode).
    statuses = text["status"].values
    active_code = statuses.index("active") if "active" in statuses else -2
    active_rows = np.flatnonzero((status == active_code) & (building >= 0)).astype(np.int32)
    by_building = np.argsort(building[active_rows], kind="stable")
    b_units = active_rows[by_building]
    offsets = np.searchsorted(building[b_units], np.arange(len(b_image_ids) + 1)).astype(np.int64)
    out.array("units/active_offsets", offsets)
    out.array("units/active", b_units)
    return postcodes, offsets, b_units
