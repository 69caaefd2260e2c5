"""Registry rows from checked batches: localities, neighbourhoods, thoroughfares, buildings and units.

Rows are derived as the row-by-row importer derived them: the same keys decide which rows share a
locality, neighbourhood, thoroughfare or building, and ids are given in order of first appearance
(a row's last thoroughfare before its previous one), from the registry's largest id on an append.
Keys are grouped with numpy inside a batch; across batches, localities and neighbourhoods (tens of
thousands) are remembered in dicts, thoroughfares and buildings (millions) in :class:`KeyIds`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from jinef.model.address import GeocodeSource, LocalityType, Status
from jinef.text.letters import name_key
from jinef.write.ingest.import_checks import Checked, Checker
from jinef.write.ingest.import_sink import Block, Sink
from jinef.write.ingest.key_ids import KeyIds, first_seen, float_bits, group_rows, hash_fields
from jinef.write.refdata.divisions import Divisions
from jinef.write.store.base import RegistryWriter

_QUALITY_BUILDING = 3
_TABLES = ("localities", "neighbourhoods", "thoroughfares", "buildings", "units")
_NONE = -1  # "no value" in the checker's numbers


class Loader:
    """Turns checked rows into registry rows and hands them to the writer, parents first."""

    def __init__(self, writer: RegistryWriter, div: Divisions, checker: Checker, append: bool, sink: Sink) -> None:
        self.w = writer
        self.sink = sink  # where the derived rows go (the writer, or a process writing shards)
        self.c = checker
        self.city = {(c.county_code, name_key(c.name)): code for code, c in div.cities.items()}
        self.today = date.today().isoformat()
        self.loc_ids: dict[tuple[Any, ...], int] = {}
        self.hood_ids: dict[tuple[Any, ...], int] = {}
        self.loc_dense: dict[int, int] = {}  # locality id → small number, for packing thoroughfare keys
        self.tf_ids = KeyIds()
        self.bld_ids = KeyIds()
        if append:
            self.last = {t: self.w.max_id(t) for t in _TABLES}
            self._remember_existing()
        else:
            self.last = dict.fromkeys(_TABLES, 0)
            self.w.add("provinces", [(p.code, p.name) for p in div.provinces.values()])
            self.w.add("counties", [(c.code, c.name, c.province_code) for c in div.counties.values()])
            self.w.add("districts", [(d.code, d.name, d.county_code) for d in div.districts.values()])
            self.w.add("rural_districts", [(r.code, r.name, r.county_code, r.district_code)
                                           for r in div.rural_districts.values()])

    def _dense(self, loc_ids: np.ndarray) -> np.ndarray:
        groups, first = first_seen(loc_ids)
        numbers = np.array([self.loc_dense.setdefault(int(x), len(self.loc_dense)) for x in loc_ids[first].tolist()],
                           dtype=np.int64)
        return numbers[groups]

    def _tf_key(self, loc_ids: np.ndarray, tf_numbers: np.ndarray) -> np.ndarray:
        return (self._dense(loc_ids).astype(np.uint64) << np.uint64(32)) | tf_numbers.astype(np.uint64)

    def _text(self, value: str | None) -> int:
        """A stored text's number in the building key: 0 for NULL, else the checker's number + 1."""
        return 0 if value is None else self.c.texts(value) + 1

    def _remember_existing(self) -> None:
        """An append reuses the registry's localities, neighbourhoods, thoroughfares and buildings."""
        self.loc_ids = self.w.lookup_ids("localities", ("county_code", "district_code", "rural_district_code",
                                                        "type", "name"))
        self.hood_ids = self.w.lookup_ids("neighbourhoods", ("locality_id", "name"))
        tf = self.w.lookup_ids("thoroughfares", ("locality_id", "type", "name"))
        if tf:
            locs = np.fromiter((k[0] for k in tf), dtype=np.int64, count=len(tf))
            names = np.fromiter((self.c.thoroughfares((k[1], k[2])) for k in tf), dtype=np.int64, count=len(tf))
            keys = self._tf_key(locs, names)
            self.tf_ids.add_existing(keys, np.zeros(len(tf), dtype=np.uint64),
                                     np.fromiter(tf.values(), dtype=np.int64, count=len(tf)))
        bld = self.w.lookup_ids("buildings", ("locality_id", "neighbourhood_id", "prev_thoroughfare_id",
                                              "last_thoroughfare_id", "plate", "entrance", "name", "lat", "lon"))
        if bld:
            k = list(zip(*bld, strict=True))
            n = len(bld)

            def ids(col: tuple[Any, ...], shift: int) -> np.ndarray:
                return np.fromiter((0 if v is None else v + shift for v in col), dtype=np.int64, count=n)

            def coords(col: tuple[Any, ...]) -> np.ndarray:
                return np.fromiter((np.nan if v is None else v for v in col), dtype=np.float64, count=n)

            fields = [ids(k[0], 0), ids(k[1], 1), ids(k[2], 1), ids(k[3], 0),
                      *(np.fromiter((self._text(v) for v in k[i]), dtype=np.int64, count=n) for i in (4, 5, 6)),
                      float_bits(coords(k[7])), float_bits(coords(k[8]))]
            self.bld_ids.add_existing(hash_fields(fields, 1), hash_fields(fields, 2),
                                      np.fromiter(bld.values(), dtype=np.int64, count=n))

    def load(self, x: Checked, rows: np.ndarray) -> None:
        """Write the registry rows of the batch's good ``rows`` (positions, in file order)."""
        if not len(rows):
            return
        c = self.c
        dv, tx = c.divisions.values, c.texts.values
        lat, lon = x.lat[rows], x.lon[rows]

        # Localities: (county, district, rural district, type, name).
        loc_cols = [x.county[rows], x.district[rows], x.rural[rows], x.ltype[rows], x.locality[rows]]
        inverse, first = group_rows(loc_cols)
        loc_of = np.empty(len(first), dtype=np.int64)
        new_loc = []
        for j in range(len(first)):
            county, district, rural, ltype, lname = (int(col[first[j]]) for col in loc_cols)
            key = (dv[county], dv[district] if district != _NONE else None, dv[rural] if rural != _NONE else None,
                   tx[ltype], tx[lname])
            found = self.loc_ids.get(key)
            if found is None:
                self.last["localities"] += 1
                found = self.loc_ids[key] = self.last["localities"]
                code = self.city.get((key[0], name_key(key[4])), "") if key[3] == LocalityType.CITY.value else ""
                new_loc.append((found, key[3], key[4], code or f"import-{found}", dv[x.prov[rows[first[j]]]],
                                *key[:3], float(lat[first[j]]), float(lon[first[j]])))
            loc_of[j] = found
        loc = loc_of[inverse]

        # Neighbourhoods: (locality, name).
        hood = np.full(len(rows), _NONE, dtype=np.int64)
        has_hood = np.flatnonzero(x.hood[rows] != _NONE)
        new_hood = []
        if len(has_hood):
            pair = [loc[has_hood], x.hood[rows][has_hood]]
            inverse, first = group_rows(pair)
            hood_of = np.empty(len(first), dtype=np.int64)
            for j in range(len(first)):
                hkey = (int(pair[0][first[j]]), tx[int(pair[1][first[j]])])
                found = self.hood_ids.get(hkey)
                if found is None:
                    self.last["neighbourhoods"] += 1
                    found = self.hood_ids[hkey] = self.last["neighbourhoods"]
                    new_hood.append((found, *hkey))
                hood_of[j] = found
            hood[has_hood] = hood_of[inverse]

        # Thoroughfares: (locality, type word, name), each row's last one before its previous one.
        last_tf, prev_tf = x.last[rows], x.prev[rows]
        both = np.empty(2 * len(rows), dtype=np.int64)
        both[0::2], both[1::2] = last_tf, prev_tf
        locs2 = np.repeat(loc, 2)
        used = np.flatnonzero(both != _NONE)
        tf_ids, tf_first, self.last["thoroughfares"] = self.tf_ids.lookup(
            self._tf_key(locs2[used], both[used]), np.zeros(len(used), dtype=np.uint64), self.last["thoroughfares"])
        ids2 = np.full(2 * len(rows), _NONE, dtype=np.int64)
        ids2[used] = tf_ids
        last_id, prev_id = ids2[0::2], ids2[1::2]
        tfs = c.thoroughfares.values
        new_tf = [(int(tf_ids[k]), int(locs2[used[k]]), *tfs[int(both[used[k]])]) for k in tf_first.tolist()]

        # Buildings: (locality, neighbourhood, previous and last thoroughfare, plate, entrance, name, lat, lon).
        plate, entrance, bname = x.plate[rows], x.entrance[rows], x.building[rows]
        fields = [loc, hood + 1, prev_id + 1, last_id, plate + 1, entrance + 1, bname + 1, float_bits(lat),
                  float_bits(lon)]
        bld, bld_first, self.last["buildings"] = self.bld_ids.lookup(
            hash_fields(fields, 1), hash_fields(fields, 2), self.last["buildings"])

        if new_loc:
            self.sink.rows("localities", new_loc)
        if new_hood:
            self.sink.rows("neighbourhoods", new_hood)
        if new_tf:
            self.sink.rows("thoroughfares", new_tf)
        if len(bld_first):
            f = bld_first
            self.sink.block(Block(
                "buildings",
                {"id": bld[f], "locality_id": loc[f], "neighbourhood_id": hood[f], "prev_thoroughfare_id": prev_id[f],
                 "last_thoroughfare_id": last_id[f], "plate": plate[f], "entrance": entrance[f], "name": bname[f],
                 "lat": lat[f], "lon": lon[f]},
                texts=("plate", "entrance", "name"),
                nulls={"neighbourhood_id": hood[f] == _NONE, "prev_thoroughfare_id": prev_id[f] == _NONE},
                constants={"geocode_source": GeocodeSource.IMPORTED.value, "geocode_quality": _QUALITY_BUILDING}))
        first_unit = self.last["units"] + 1
        self.last["units"] += len(rows)
        self.sink.block(Block(
            "units",
            {"id": np.arange(first_unit, first_unit + len(rows), dtype=np.int64), "postcode": x.code[rows],
             "building_id": bld, "floor": x.floor[rows], "unit": x.unit[rows], "usage": x.usage[rows]},
            texts=("unit", "usage"),
            nulls={"floor": ~x.has_floor[rows]},
            constants={"status": Status.ACTIVE.value, "valid_from": self.today, "valid_to": None}))
