"""The importer's row checks, column-wise: each distinct value of a column is checked once.

The rules, their order and their messages are those of the row-by-row importer: a row's error is
the first rule it breaks, in this order — malformed row, required fields, postcode rules, duplicate
in the file, coordinates, province, county, district, rural district, locality type, last and
previous thoroughfare, floor, usage, point inside the province, and (appends) already registered.
Names are matched (divisions, thoroughfare type words, floors, usages) once per distinct text of a
batch and remembered; postcodes and coordinates in their canonical forms are checked in C++ and
any other form by the single-value functions themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from jinef.common.messages import Message, message
from jinef.model import postcode as pc_rules
from jinef.model.address import USAGE_LABELS_FA, LocalityType, ThoroughfareType, Usage
from jinef.model.postcode_column import validate_column
from jinef.text.letters import name_key
from jinef.text.lexicon import locality_type_word, usage_code
from jinef.write.ingest.import_errors import RowError
from jinef.write.ingest.import_reader import FIELDS, Batch
from jinef.write.ingest.key_ids import SortedRuns, first_seen
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import COUNTY_WORD, Divisions
from jinef.write.store.base import RegistryWriter

REQUIRED = ("postcode", "province", "county", "locality_type", "locality", "last_thoroughfare", "lat", "lon")
_TYPE_WORDS = sorted((t.value for t in ThoroughfareType), key=len, reverse=True)
_LOCALITY_TYPES = {t.value for t in LocalityType}
_USAGES = {u.value for u in Usage}
# No field of a real address is this long; a longer one is a broken file (a runaway quote, a pasted document).
MAX_FIELD_CHARS = 1000
# Decimal degrees as exports write them: parsed alike by pyarrow and float(), and already rounded to 1 cm.
_PLAIN_COORD = r"^-?[0-9]{1,3}(\.[0-9]{1,7})?$"


def split_thoroughfare(text: str) -> tuple[str, str] | None:
    """«کوچه دوازدهم» → («کوچه», «دوازدهم»); None when no type word leads."""
    t = text.strip().replace("بن بست", "بن‌بست")
    for word in _TYPE_WORDS:
        if t == word:
            return word, ""
        if t.startswith(word + " "):
            return word, t[len(word) + 1 :].strip()
    return None


class Vocab:
    """Distinct values of a file numbered from 0 in order of appearance (grows only with distinct values)."""

    def __init__(self) -> None:
        self.code: dict[Hashable, int] = {}
        self.values: list[Any] = []

    def __call__(self, value: Hashable) -> int:
        """The value's number, given on first sight."""
        found = self.code.get(value)
        if found is None:
            found = self.code[value] = len(self.values)
            self.values.append(value)
        return found


class _Matcher:
    """Names to the real divisions' codes, by folded name."""

    def __init__(self, div: Divisions) -> None:
        self.province = {name_key(p.name): c for c, p in div.provinces.items()}
        self.county = {(c.province_code, name_key(c.name, COUNTY_WORD)): code for code, c in div.counties.items()}
        self.district = {(d.county_code, name_key(d.name)): code for code, d in div.districts.items()}
        self.rural = {(r.county_code, name_key(r.name)): code for code, r in div.rural_districts.items()}
        self.city = {(c.county_code, name_key(c.name)): code for code, c in div.cities.items()}


# Error kinds, in the order the rules are applied; 0 = no error.
MALFORMED = 1
REQUIRED_FIRST = 2  # one kind per REQUIRED field
POSTCODE = REQUIRED_FIRST + len(REQUIRED)
DUPLICATE, NOT_A_NUMBER, OUT_OF_RANGE, PROVINCE, COUNTY, DISTRICT, RURAL, LOCALITY_TYPE, LAST, PREV, FLOOR, USAGE, \
    OUTSIDE, REGISTERED, TOO_LONG = range(POSTCODE + 1, POSTCODE + 16)


@dataclass
class Checked:
    """A batch after the checks: each row's error kind and, for good rows, its resolved values.

    Text values are numbers in the checker's vocabularies (-1 for none), so that the loader can group
    rows with numpy.
    """

    err: np.ndarray  # int8 error kind per row, 0 when good
    code: np.ndarray  # postcode as an integer
    lat: np.ndarray  # rounded to 7 decimals, as stored
    lon: np.ndarray
    prov: np.ndarray  # numbers in Checker.divisions (province, county, district and rural district codes)
    county: np.ndarray
    district: np.ndarray
    rural: np.ndarray
    ltype: np.ndarray  # numbers in Checker.texts (stripped texts)
    locality: np.ndarray
    hood: np.ndarray
    last: np.ndarray  # numbers in Checker.thoroughfares ((type word, name) pairs)
    prev: np.ndarray
    plate: np.ndarray
    entrance: np.ndarray
    building: np.ndarray
    floor: np.ndarray  # int64, meaningful where has_floor
    has_floor: np.ndarray
    unit: np.ndarray
    usage: np.ndarray
    postcode_checks: dict[int, pc_rules.Validation]  # rows whose postcode was not canonical


class Checker:
    """Applies the import rules to batches, remembering what earlier batches held (postcodes, names)."""

    def __init__(self, div: Divisions, bnd: Boundaries, writer: RegistryWriter | None) -> None:
        self.m = _Matcher(div)
        self.polygons = bnd.provinces
        for poly in self.polygons.values():
            shapely.prepare(poly)  # many points per polygon: prepared once, tested fast
        self.writer = writer  # set for appends: postcodes already registered are refused
        self.seen = SortedRuns()  # postcodes of earlier rows (8 bytes each)
        self.divisions = Vocab()
        self.texts = Vocab()
        self.thoroughfares = Vocab()
        self._memo: dict[str, dict[Hashable, Any]] = {}

    def _per_value(self, name: str, a: pa.Array, fn: Callable[[str], Any], dtype: Any = np.int32) -> np.ndarray:
        """``fn`` of each row's text, computed once per distinct text (remembered across batches)."""
        memo = self._memo.setdefault(name, {})
        enc = a.dictionary_encode()
        results = []
        for v in enc.dictionary.to_pylist():
            if v not in memo:
                memo[v] = fn(v)
            results.append(memo[v])
        return np.array(results, dtype=dtype)[enc.indices.to_numpy(zero_copy_only=False)] if results else \
            np.zeros(0, dtype=dtype)

    def _per_pair(self, name: str, left: np.ndarray, a: pa.Array, fn: Callable[[int, str], Any]) -> np.ndarray:
        """``fn(left, text)`` of each row, computed once per distinct pair (remembered across batches)."""
        memo = self._memo.setdefault(name, {})
        enc = a.dictionary_encode()
        texts = enc.dictionary.to_pylist()
        right = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        combined = left.astype(np.int64) * max(len(texts), 1) + right
        inverse, first = first_seen(combined)
        out = np.empty(len(first), dtype=np.int32)
        for k, p in enumerate(combined[first].tolist()):
            key = (p // max(len(texts), 1), texts[p % max(len(texts), 1)])
            if key not in memo:
                memo[key] = fn(*key)
            out[k] = memo[key]
        return out[inverse]

    def check(self, batch: Batch) -> Checked:
        """Every rule on every row of the batch."""
        cols = batch.columns
        n = len(batch)
        err = np.zeros(n, dtype=np.int8)

        def fail(kind: int, mask: np.ndarray) -> None:
            err[(err == 0) & mask] = kind

        if batch.malformed:
            fail(MALFORMED, np.isin(np.arange(n), list(batch.malformed)))
        fail(TOO_LONG, _too_long(cols))
        code, odd = validate_column(cols["postcode"])
        lat_raw, lat, lat_bad = _coords(cols["lat"])
        lon_raw, lon, lon_bad = _coords(cols["lon"])
        for k, f in enumerate(REQUIRED):
            if f in ("postcode", "lat", "lon"):  # many distinct values: only those not in canonical form looked at
                blank = np.zeros(n, dtype=bool)
                rows = list(odd) if f == "postcode" else np.flatnonzero(np.isnan(lat_raw if f == "lat" else lon_raw))
                for i in rows:
                    blank[i] = not cols[f][int(i)].as_py().strip()
            else:
                blank = self._per_value("blank", cols[f], lambda v: not v.strip(), bool)
            fail(REQUIRED_FIRST + k, blank)
        fail(POSTCODE, code < 0)
        # A postcode counts as seen once its row has passed the postcode rules, whatever happens to it after.
        fail(DUPLICATE, self._duplicates(code, err == 0))
        fail(NOT_A_NUMBER, lat_bad | lon_bad)
        fail(OUT_OF_RANGE, ~(np.isfinite(lat_raw) & np.isfinite(lon_raw) & (np.abs(lat_raw) <= 90)
                             & (np.abs(lon_raw) <= 180)))

        dv = self.divisions
        prov = self._per_value("province", cols["province"],
                               lambda v: _code(dv, self.m.province.get(name_key(v, ("استان",)))))
        fail(PROVINCE, prov < 0)
        county = self._per_pair("county", prov, cols["county"], lambda p, v: -1 if p < 0 else _code(
            dv, self.m.county.get((dv.values[p], name_key(v, COUNTY_WORD)))))
        fail(COUNTY, county < 0)
        district = self._per_pair("district", county, cols["district"], lambda c, v: -2 if not v.strip() else (
            -1 if c < 0 else _code(dv, self.m.district.get((dv.values[c], name_key(v))))))
        fail(DISTRICT, district == -1)
        rural = self._per_pair("rural", county, cols["rural_district"], lambda c, v: -2 if not v.strip() else (
            -1 if c < 0 else _code(dv, self.m.rural.get((dv.values[c], name_key(v))))))
        fail(RURAL, rural == -1)
        tx, tf = self.texts, self.thoroughfares
        ltype = self._per_value("ltype", cols["locality_type"], lambda v: _label(tx, locality_type_word(v)))
        fail(LOCALITY_TYPE, ltype < 0)
        last = self._per_value("tf", cols["last_thoroughfare"], lambda v: _tf(tf, v))
        fail(LAST, last < 0)
        prev = self._per_value("tf_prev", cols["prev_thoroughfare"], lambda v: -2 if not v.strip() else _tf(tf, v))
        fail(PREV, prev == -1)
        floor_kind = self._per_value("floor_kind", cols["floor"], _floor_kind, np.int8)
        fail(FLOOR, floor_kind == _FLOOR_BAD)
        # Stored as the English code whichever way the file writes it (code, Persian label); empty = residential.
        usage = self._per_value("usage", cols["usage"],
                                lambda v: _label(tx, usage_code(v) if v.strip() else Usage.RESIDENTIAL.value))
        fail(USAGE, usage < 0)
        fail(OUTSIDE, self._outside(prov, lat_raw, lon_raw, err == 0))
        if self.writer is not None:
            fail(REGISTERED, self._registered(code, err == 0))

        has_floor = floor_kind == _FLOOR_SET
        floor_values = self._per_value("floor", cols["floor"], lambda v: _floor(v) or 0, np.int64)
        stripped = self._stripped
        return Checked(
            err=err, code=code, lat=lat, lon=lon, prov=prov, county=county, district=np.maximum(district, -1),
            rural=np.maximum(rural, -1), ltype=ltype, locality=stripped("locality", cols["locality"]),
            hood=stripped("hood", cols["neighbourhood"]), last=last, prev=np.maximum(prev, -1),
            plate=stripped("plate", cols["plate"], keep_empty=True),
            entrance=stripped("entrance", cols["entrance"], keep_empty=True),
            building=stripped("building", cols["building"], keep_empty=True),
            floor=floor_values, has_floor=has_floor, unit=stripped("unit", cols["unit"], keep_empty=True),
            usage=usage, postcode_checks=odd)

    def _stripped(self, name: str, a: pa.Array, keep_empty: bool = False) -> np.ndarray:
        """Numbers of the stripped texts (-1 for an empty one unless kept)."""
        tx = self.texts
        return self._per_value("strip_" + name, a,
                               lambda v: tx(v.strip()) if (v.strip() or keep_empty) else -1)

    def _duplicates(self, code: np.ndarray, counted: np.ndarray) -> np.ndarray:
        """Rows whose postcode an earlier counted row of the file had; the counted ones are then remembered."""
        rows = np.flatnonzero(counted)
        codes = code[rows]
        dup = np.zeros(len(code), dtype=bool)
        if not len(rows):
            return dup
        _, first = first_seen(codes)
        uniq = codes[first]
        again = np.ones(len(rows), dtype=bool)
        again[first] = False  # a later row with the code of an earlier row of this batch
        dup[rows] = again | self.seen.find(codes)[0]
        self.seen.add(uniq[~self.seen.find(uniq)[0]])
        return dup

    def _outside(self, prov: np.ndarray, lat: np.ndarray, lon: np.ndarray, todo: np.ndarray) -> np.ndarray:
        """Rows whose point lies outside their province's polygon (each distinct point tested once)."""
        out = np.zeros(len(prov), dtype=bool)
        rows = np.flatnonzero(todo)
        for p in np.unique(prov[rows]).tolist():
            poly = self.polygons.get(self.divisions.values[p])
            if poly is None:
                continue
            sel = rows[prov[rows] == p]
            pts, inverse = np.unique(np.stack([lon[sel], lat[sel]]), axis=1, return_inverse=True)
            inside = shapely.contains_xy(poly, pts[0], pts[1])
            out[sel] = ~inside[inverse.reshape(-1)]
        return out

    def _registered(self, code: np.ndarray, todo: np.ndarray) -> np.ndarray:
        assert self.writer is not None
        rows = np.flatnonzero(todo)
        known = self.writer.existing_postcodes(code[rows].tolist())
        out = np.zeros(len(code), dtype=bool)
        if known:
            out[rows] = np.isin(code[rows], np.fromiter(known, dtype=np.int64, count=len(known)))
        return out

    def error(self, batch: Batch, checked: Checked, i: int) -> RowError:
        """The error of row ``i`` of the batch, worded as the row-by-row importer worded it."""
        kind = int(checked.err[i])
        row = batch.first_row + i
        r: dict[str, str] = {} if kind == MALFORMED else {c: a[i].as_py() for c, a in batch.columns.items()}
        if kind == MALFORMED:
            return RowError(row, "*", "malformed_row", message("import.row.malformed", problem=batch.malformed[i]))
        if kind == TOO_LONG:
            f, text = next((c, v) for c, v in r.items() if c in FIELDS and len(v) > MAX_FIELD_CHARS)
            return RowError(row, f, "too_long", message("import.row.too_long", field=f, length=len(text),
                                                        most=MAX_FIELD_CHARS))
        if REQUIRED_FIRST <= kind < POSTCODE:
            f = REQUIRED[kind - REQUIRED_FIRST]
            return RowError(row, f, "required", message("import.row.required", field=f))
        if kind == POSTCODE:
            v = pc_rules.validate(r["postcode"])
            reasons = [pc_rules.rule_message(rule) for rule in v.reasons]
            return RowError(row, "postcode", ",".join(v.reasons), message("postcode.invalid_item", reasons=reasons))
        if kind in (DUPLICATE, REGISTERED):
            rule, mid = ("duplicate", "import.row.duplicate") if kind == DUPLICATE else \
                ("already_registered", "import.row.already_registered")
            return RowError(row, "postcode", rule, message(mid, postcode=pc_rules.from_int(int(checked.code[i]))))
        province = r.get("province")
        simple: dict[int, tuple[str, str, Callable[[], Message]]] = {
            NOT_A_NUMBER: ("lat/lon", "not_a_number", lambda: message("import.row.not_a_number")),
            OUT_OF_RANGE: ("lat/lon", "out_of_range", lambda: message("import.row.out_of_range")),
            PROVINCE: ("province", "unknown_division", lambda: message("import.row.unknown_province",
                                                                       province=province)),
            COUNTY: ("county", "unknown_division", lambda: message("import.row.unknown_county",
                                                                   county=r.get("county"), province=province)),
            DISTRICT: ("district", "unknown_division", lambda: message("import.row.unknown_district",
                                                                       district=r.get("district"))),
            RURAL: ("rural_district", "unknown_division", lambda: message(
                "import.row.unknown_rural_district", rural_district=r.get("rural_district"))),
            LOCALITY_TYPE: ("locality_type", "unknown_value", lambda: message(
                "import.row.locality_type", choices=str(sorted(_LOCALITY_TYPES)))),
            LAST: ("last_thoroughfare", "no_type_word", lambda: message("import.row.no_type_word")),
            PREV: ("prev_thoroughfare", "no_type_word", lambda: message("import.row.no_type_word")),
            FLOOR: ("floor", "not_an_integer", lambda: message("import.row.floor")),
            USAGE: ("usage", "unknown_value", lambda: message(
                "import.row.usage", choices=str(sorted(_USAGES)), labels="، ".join(USAGE_LABELS_FA.values()))),
            OUTSIDE: ("lat/lon", "outside_province", lambda: message("import.row.outside_province",
                                                                     province=province)),
        }
        f, rule, reason = simple[kind]
        return RowError(row, f, rule, reason())


def _label(vocab: Vocab, canonical: str | None) -> int:
    return -1 if canonical is None else vocab(canonical)


def _too_long(cols: dict[str, pa.Array]) -> np.ndarray:
    """Rows with a field longer than MAX_FIELD_CHARS (the derived address column is not read)."""
    out = np.zeros(len(cols["postcode"]), dtype=bool)
    for name in FIELDS:
        a = cols[name]
        if len(a) and pc.max(pc.binary_length(a)).as_py() > MAX_FIELD_CHARS:  # bytes bound characters: cheap test
            out |= pc.greater(pc.utf8_length(a), MAX_FIELD_CHARS).to_numpy(zero_copy_only=False)
    return out


def _code(vocab: Vocab, value: str | None) -> int:
    return -1 if value is None else vocab(value)


def _tf(vocab: Vocab, text: str) -> int:
    split = split_thoroughfare(text)
    return -1 if split is None else vocab(split)


_FLOOR_EMPTY, _FLOOR_SET, _FLOOR_BAD = 0, 1, 2


def _floor(text: str) -> int | None:
    """The floor number (0 = همکف); None when empty or not a whole number."""
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _floor_kind(text: str) -> int:
    """Whether a floor text is empty, a whole number, or not a whole number."""
    if not text.strip():
        return _FLOOR_EMPTY
    return _FLOOR_SET if _floor(text) is not None else _FLOOR_BAD


def _coords(texts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Coordinates as parsed (NaN where not a number), as stored (rounded to 7 decimals), and which rows are
    not numbers."""
    plain = pc.match_substring_regex(texts, _PLAIN_COORD).to_numpy(zero_copy_only=False)
    raw = np.full(len(texts), np.nan)
    if plain.any():
        raw[plain] = pc.cast(texts.filter(pa.array(plain)), pa.float64()).to_numpy()
    stored = raw.copy()  # seven decimals at most: already what round(v, 7) gives
    bad = np.zeros(len(texts), dtype=bool)
    rest = np.flatnonzero(~plain)
    for i, text in zip(rest.tolist(), texts.take(pa.array(rest, type=pa.int64())).to_pylist(), strict=True):
        try:
            v = float(text)
        except ValueError:
            bad[i] = True
            continue
        raw[i] = v
        stored[i] = round(v, 7) if math.isfinite(v) else v
    return raw, stored, bad
