"""The geocoder's in-memory index: compact numpy arrays with CSR offsets, and small dicts of match keys.

Nothing here is one Python object per unit or per building: buildings and units are columns
(numpy arrays, or lists of interned strings for the few low-cardinality text columns), sorted so
that a thoroughfare's buildings and a building's units are contiguous ranges (CSR offsets).
Dicts are keyed by match keys (:func:`jinef.text.keys.match_key`) of names, of which a registry
has few distinct ones.

- localities: names, types, admin names; ``loc_by_key`` key → locality indices
- neighbourhoods: locality, name; ``nb_by_key`` key → neighbourhood indices
- thoroughfares: locality, type, name, usual prev thoroughfare, a point; ``th_by_key`` key → indices
- buildings sorted by (last thoroughfare, plate): ``b_key`` = last · 2²¹ + plate code, searchable
  with :func:`numpy.searchsorted` for many thoroughfares at once
- units sorted by building: ``b_u_off`` offsets; postcodes searchable through ``pc_sorted``
"""

from __future__ import annotations

import sqlite3
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from jinef.geocode import loader
from jinef.registry.model import Address, floor_text, standard_address
from jinef.registry.postcode import from_int
from jinef.registry.registry import Registry
from jinef.text.digits import to_latin_digits, to_persian_digits
from jinef.text.keys import match_key

PLATE_SHIFT = 21  # b_key = last thoroughfare index << PLATE_SHIFT | plate code
NUMERIC_PLATE_LIMIT = 1_000_000
NO_FLOOR = loader.NO_FLOOR
LOCALITY_GROUPED = 32  # keys naming more thoroughfares than this also get them grouped by locality
# Honorifics people drop from street names: «شهید نیکنام» is also found as «نیکنام».
DROPPABLE_PREFIXES = ("شهید", "سردار", "دکتر", "امام", "حضرت", "سرلشکر", "سپهبد", "مهندس", "استاد")


def unit_key(text: str) -> str:
    """Comparison form of a unit or entrance number: Latin digits, no spaces."""
    return to_latin_digits(text).replace(" ", "").replace("\u200c", "")


@dataclass
class PlateCodes:
    """Plates as integers: a digits-only plate is its number, anything else gets a code of its own."""

    other: dict[str, int] = field(default_factory=dict)

    def code(self, plate: str, add: bool = False) -> int:
        """The integer code of a plate (-1 when unknown and not added)."""
        p = unit_key(plate)
        if p.isdigit() and int(p) < NUMERIC_PLATE_LIMIT:
            return int(p)
        c = self.other.get(p)
        if c is None:
            if not add:
                return -1
            c = self.other[p] = NUMERIC_PLATE_LIMIT + len(self.other)
        return c


def _group(keys: list[str]) -> dict[str, np.ndarray]:
    """key → int32 array of the positions holding it (empty keys left out)."""
    tmp: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        if k:
            tmp.setdefault(k, []).append(i)
    return {k: np.array(v, dtype=np.int32) for k, v in tmp.items()}


def _dense(ids: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Map foreign-key ids to positions in the sorted ``ids`` (-1 for none or unknown)."""
    if len(ids) == 0:
        return np.full(len(refs), -1, dtype=np.int32)
    pos = np.searchsorted(ids, refs)
    pos_c = np.minimum(pos, len(ids) - 1)
    ok = (refs >= 0) & (ids[pos_c] == refs)
    return np.where(ok, pos_c, -1).astype(np.int32)


class GeocodeIndex:
    """Everything the geocoder looks up, built once from a registry (then shared by forked workers)."""

    def __init__(self, reg: Registry) -> None:
        t0 = time.perf_counter()
        conn = reg.reader.conn  # type: ignore[attr-defined]
        self._localities(loader.load_localities(conn))
        self._neighbourhoods(loader.load_neighbourhoods(conn))
        ths = loader.load_thoroughfares(conn)
        self._thoroughfares(ths)
        self._buildings(loader.load_buildings(conn), ths["id"])
        self._units(conn)
        self._views()
        self._heads: dict[int, str] = {}
        self.build_seconds = time.perf_counter() - t0

    # -- building ------------------------------------------------------------------------

    def _localities(self, d: dict) -> None:
        self.loc_id = d["id"]
        self.loc_type: list[str] = d["type"]
        self.loc_name: list[str] = d["name"]
        self.loc_province: list[str] = d["province"]
        self.loc_county: list[str] = d["county"]
        self.loc_district: list[str] = d["district"]
        self.loc_rural: list[str] = d["rural_district"]
        self.loc_lat, self.loc_lon = d["lat"], d["lon"]
        self.loc_key = [match_key(n) for n in self.loc_name]
        self.loc_by_key = _group(self.loc_key)
        self.loc_province_key = np.array([match_key(n) for n in self.loc_province], dtype=object)
        self.loc_county_key = np.array([match_key(n) for n in self.loc_county], dtype=object)
        self.province_keys = {match_key(n): n for n in set(self.loc_province)}
        self.county_keys = {match_key(n): n for n in set(self.loc_county)}

    def _neighbourhoods(self, d: dict) -> None:
        self.nb_loc = _dense(self.loc_id, d["locality_id"])
        self.nb_id = d["id"]
        self.nb_name: list[str] = d["name"]
        self.nb_key = [match_key(n) for n in self.nb_name]
        self.nb_by_key = _group(self.nb_key)

    def _thoroughfares(self, d: dict) -> None:
        self.th_id = d["id"]
        self.th_loc = _dense(self.loc_id, d["locality_id"])
        self.th_type: list[str] = d["type"]
        self.th_name: list[str] = d["name"]
        self.th_key = [match_key(n) for n in self.th_name]
        self.th_type_key = [match_key(t) for t in self.th_type]
        by_key: dict[str, list[int]] = {}
        for i, k in enumerate(self.th_key):
            by_key.setdefault(k, []).append(i)
            for prefix in DROPPABLE_PREFIXES:
                if k.startswith(prefix) and len(k) > len(prefix) + 2:
                    by_key.setdefault(k[len(prefix):], []).append(i)
        self.th_by_key = {k: np.array(v, dtype=np.int32) for k, v in by_key.items() if k}
        # Common keys («12», «شهیدبهشتی») name thoroughfares all over the country: grouped by locality,
        # so a query naming its locality finds its few without filtering thousands.
        th_loc = self.th_loc.tolist()
        self.th_loc_groups: dict[str, dict[int, list[int]]] = {}
        for k, v in by_key.items():
            if k and len(v) > LOCALITY_GROUPED:
                groups: dict[int, list[int]] = {}
                for t in v:
                    groups.setdefault(th_loc[t], []).append(t)
                self.th_loc_groups[k] = groups
        self.th_keys_all = sorted(self.th_by_key)

    def _buildings(self, d: dict, th_ids: np.ndarray) -> None:
        last = _dense(th_ids, d["last_id"])
        prev = _dense(th_ids, d["prev_id"])
        self.plates = PlateCodes()
        plate_code = np.array([self.plates.code(p, add=True) for p in d["plate"]], dtype=np.int64)
        key = last.astype(np.int64) << PLATE_SHIFT | np.maximum(plate_code, 0)
        order = np.lexsort((d["id"], key))
        self.b_key = key[order]
        self.b_id = d["id"][order]
        self.b_last = last[order]
        self.b_prev = prev[order]
        self.b_loc = _dense(self.loc_id, d["locality_id"][order])
        self.b_nb = _dense(self.nb_id, d["neighbourhood_id"][order])
        self.b_lat = d["lat"][order]
        self.b_lon = d["lon"][order]
        o = order.tolist()
        self.b_plate: list[str] = [d["plate"][i] for i in o]
        self.b_entrance: list[str] = [d["entrance"][i] for i in o]
        self.b_name: list[str] = [d["name"][i] for i in o]
        del d
        n_th = len(th_ids)
        # Thoroughfare → its buildings (contiguous because b_key sorts by last thoroughfare first).
        self.th_b_off = np.searchsorted(self.b_last, np.arange(n_th + 1), side="left").astype(np.int64)
        # Each thoroughfare's usual prev, neighbourhood and a middle building's point.
        mid = (self.th_b_off[:-1] + self.th_b_off[1:]) // 2
        has = self.th_b_off[1:] > self.th_b_off[:-1]
        midc = np.minimum(mid, max(len(self.b_id) - 1, 0))
        self.th_prev = np.where(has, self.b_prev[midc] if len(self.b_id) else -1, -1).astype(np.int32)
        self.th_nb = np.where(has, self.b_nb[midc] if len(self.b_id) else -1, -1).astype(np.int32)
        self.th_lat = np.where(has, self.b_lat[midc] if len(self.b_id) else np.nan, np.nan)
        self.th_lon = np.where(has, self.b_lon[midc] if len(self.b_id) else np.nan, np.nan)

    def _units(self, conn: sqlite3.Connection) -> None:
        u = loader.load_units(conn)
        b_dense = _dense(np.sort(self.b_id), u["building_id"])
        # Units arrive sorted by building id; buildings here are sorted by key: reorder units to match.
        id_order = np.argsort(self.b_id, kind="stable")  # position in b_* of the k-th smallest id
        b_pos = id_order[b_dense]
        uorder = np.argsort(b_pos, kind="stable")
        self.u_b = b_pos[uorder].astype(np.int32)
        self.u_postcode = u["postcode"][uorder]
        self.u_floor = u["floor"][uorder]
        ul = u["unit"]
        self.u_unit: list[str] = [ul[i] for i in uorder.tolist()]
        self.u_unit_key: list[str] = [sys.intern(unit_key(x)) for x in self.u_unit]
        self.b_u_off = np.searchsorted(self.u_b, np.arange(len(self.b_id) + 1), side="left").astype(np.int64)
        self.pc_order = np.argsort(self.u_postcode).astype(np.int32)
        self.pc_sorted = self.u_postcode[self.pc_order]

    def _views(self) -> None:
        """Memoryviews (``ndarray.data``) of the columns the scoring loop reads one element at a time.

        Indexing a memoryview gives a Python int or float directly, several times faster than
        indexing a numpy array and converting the scalar; the views share the arrays' memory.
        """
        self.loc_type_arr = np.array(self.loc_type, dtype=object)
        self.th_type_key_arr = np.array(self.th_type_key, dtype=object)
        self.u_unit_key_arr = np.array(self.u_unit_key, dtype=object)  # the same strings, compared in bulk
        self.v_loc_province_key: list[str] = self.loc_province_key.tolist()
        self.v_loc_county_key: list[str] = self.loc_county_key.tolist()
        self.v_th_loc = self.th_loc.data
        self.v_th_prev = self.th_prev.data
        self.v_th_nb = self.th_nb.data
        self.v_th_b_off = self.th_b_off.data
        self.v_b_key = self.b_key.data
        self.v_b_last = self.b_last.data
        self.v_b_prev = self.b_prev.data
        self.v_b_loc = self.b_loc.data
        self.v_b_nb = self.b_nb.data
        self.v_b_lat = self.b_lat.data
        self.v_b_lon = self.b_lon.data
        self.v_b_id = self.b_id.data
        self.v_b_u_off = self.b_u_off.data
        self.v_u_floor = self.u_floor.data
        self.v_u_postcode = self.u_postcode.data
        # Fuzzy matching scans these; made once, not per query.
        self.loc_keys_all = list(self.loc_by_key)
        self.nb_keys_all = list(self.nb_by_key)
        self.province_keys_all = list(self.province_keys)
        self.county_keys_all = list(self.county_keys)

    # -- reading -------------------------------------------------------------------------

    def unit_by_postcode(self, postcode: int) -> int:
        """The unit index holding a postcode, or -1."""
        i = int(np.searchsorted(self.pc_sorted, postcode))
        if i < len(self.pc_sorted) and self.pc_sorted[i] == postcode:
            return int(self.pc_order[i])
        return -1

    def th_text(self, t: int) -> str:
        """A thoroughfare as the model writes it: «کوچه دوازدهم»."""
        if t < 0:
            return ""
        ty, name = self.th_type[t], self.th_name[t]
        return f"{ty} {name}" if name else ty

    def standard_address(self, b: int, u: int = -1) -> str:
        """``self.address(b, u).standard_address``, made directly: the batch writes one per row.

        The locality's head («استان …، شهرستان …، شهر …») is made once per locality.
        """
        loc = self.v_b_loc[b]
        head = self._heads.get(loc)
        if head is None:
            head = self._heads[loc] = to_persian_digits(standard_address(Address(
                "", self.loc_province[loc], self.loc_county[loc], self.loc_district[loc], self.loc_rural[loc],
                self.loc_type[loc], self.loc_name[loc], "", "", "", "", "", "", None, "", "", None, None)))
        parts = [head]
        nb = self.v_b_nb[b]
        if nb >= 0 and self.nb_name[nb]:
            parts.append(f"محله {self.nb_name[nb]}")
        prev = self.th_text(self.v_b_prev[b])
        if prev:
            parts.append(prev)
        last = self.th_text(self.v_b_last[b])
        if last:
            parts.append(last)
        if self.b_plate[b]:
            parts.append(f"پلاک {self.b_plate[b]}")
        if self.b_entrance[b]:
            parts.append(f"ورودی {self.b_entrance[b]}")
        if self.b_name[b]:
            parts.append(f"ساختمان {self.b_name[b]}")
        if u >= 0:
            f = self.v_u_floor[u]
            if f != NO_FLOOR:
                parts.append(f"طبقه {floor_text(f)}")
            if self.u_unit[u]:
                parts.append(f"واحد {self.u_unit[u]}")
        return to_persian_digits("، ".join(parts))  # char by char: the same as on the whole address

    def address(self, b: int, u: int = -1) -> Address:
        """The model's Address of a building (``u`` = -1: without floor, unit and postcode)."""
        loc = int(self.b_loc[b])
        nb = int(self.b_nb[b])
        floor: int | None = None
        unit = ""
        postcode = ""
        if u >= 0:
            f = int(self.u_floor[u])
            floor = None if f == NO_FLOOR else f
            unit = self.u_unit[u]
            postcode = from_int(int(self.u_postcode[u]))
        return Address(
            postcode=postcode,
            province=self.loc_province[loc],
            county=self.loc_county[loc],
            district=self.loc_district[loc],
            rural_district=self.loc_rural[loc],
            locality_type=self.loc_type[loc],
            locality=self.loc_name[loc],
            neighbourhood=self.nb_name[nb] if nb >= 0 else "",
            prev_thoroughfare=self.th_text(int(self.b_prev[b])),
            last_thoroughfare=self.th_text(int(self.b_last[b])),
            plate=self.b_plate[b],
            entrance=self.b_entrance[b],
            building=self.b_name[b],
            floor=floor,
            unit=unit,
            usage="",
            lat=float(self.b_lat[b]),
            lon=float(self.b_lon[b]),
            building_id=int(self.b_id[b]),
        )

    def stats(self) -> dict[str, float]:
        """Sizes and build time."""
        return {
            "localities": len(self.loc_id),
            "neighbourhoods": len(self.nb_id),
            "thoroughfares": len(self.th_id),
            "buildings": len(self.b_id),
            "units": len(self.u_postcode),
            "build_seconds": round(self.build_seconds, 2),
        }
