"""The row-by-row importer as it was before the column-wise one: the oracle the tests compare it with.

Import a real address file (the export's columns) into a registry, checking every row.

The postal company loads its own records: buildings, thoroughfares and localities are derived
from the rows, and divisions are matched to the real ones by normalised name. A bad row stops
the import with its row number, field and rule, leaving the registry untouched, unless the
caller asks to skip bad rows (each is then reported with its reason).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import shapely

from jinef.common.csv_safety import neutralise_row, restore_row
from jinef.model import postcode as pc
from jinef.model.address import (
    EXPORT_COLUMNS,
    USAGE_LABELS_FA,
    GeocodeSource,
    LocalityType,
    Status,
    ThoroughfareType,
    Usage,
)
from jinef.text.letters import name_key
from jinef.text.lexicon import locality_type_word, usage_code
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import COUNTY_WORD, Divisions
from jinef.write.store.base import RegistryWriter

REQUIRED = ("postcode", "province", "county", "locality_type", "locality", "last_thoroughfare", "lat", "lon")
_TYPE_WORDS = sorted((t.value for t in ThoroughfareType), key=len, reverse=True)
_LOCALITY_TYPES = {t.value for t in LocalityType}
_USAGES = {u.value for u in Usage}
_QUALITY_BUILDING = 3


@dataclass(frozen=True)
class RowError:
    """Why one row was refused: where (row, field) and which rule."""

    row: int  # 1 = the first data row (line 2 of a CSV file)
    field: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, field {self.field!r}: {self.message} [{self.rule}]"


class ImportError_(ValueError):
    """An import refused; nothing was written."""

    def __init__(self, path: Path, error: RowError) -> None:
        self.error = error
        super().__init__(f"{path}: {error}")


@dataclass
class ImportSummary:
    """What an import did."""

    rows: int = 0
    loaded: int = 0
    rejected: int = 0
    rejects: list[tuple[dict[str, str], RowError]] = field(default_factory=list)


def read_rows(path: Path, fmt: Literal["csv", "jsonl"]) -> Iterator[tuple[int, dict[str, str]]]:
    """Rows of the file as text dicts with their 1-based data row number; header checked first."""
    if fmt == "csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise ImportError_(path, RowError(0, "header", "empty_file", "the file is empty"))
            if tuple(header) != EXPORT_COLUMNS:
                missing = [c for c in EXPORT_COLUMNS if c not in header]
                extra = [c for c in header if c not in EXPORT_COLUMNS]
                raise ImportError_(path, RowError(0, "header", "wrong_header",
                                                  f"expected the export header; missing {missing}, unexpected {extra}"))
            for i, values in enumerate(reader, start=1):
                if len(values) != len(EXPORT_COLUMNS):
                    yield i, {"__error__": f"has {len(values)} fields, expected {len(EXPORT_COLUMNS)}"}
                    continue
                # Cells Jinef's CSV writers neutralised against formula injection come back as written.
                yield i, dict(zip(EXPORT_COLUMNS, restore_row(values), strict=True))
    elif fmt == "jsonl":
        with path.open(encoding="utf-8") as fh:
            for i, line in enumerate(fh, start=1):
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    yield i, {"__error__": f"is not valid JSON ({exc.msg})"}
                    continue
                if not isinstance(obj, dict) or set(obj) != set(EXPORT_COLUMNS):
                    yield i, {"__error__": "is not an object with exactly the export's fields"}
                    continue
                yield i, {k: "" if obj[k] is None else str(obj[k]) for k in EXPORT_COLUMNS}
    else:
        raise ValueError(f"unknown format {fmt!r} (csv or jsonl)")


def split_thoroughfare(text: str) -> tuple[str, str] | None:
    """«کوچه دوازدهم» → («کوچه», «دوازدهم»); None when no type word leads."""
    t = text.strip().replace("بن بست", "بن‌بست")
    for word in _TYPE_WORDS:
        if t == word:
            return word, ""
        if t.startswith(word + " "):
            return word, t[len(word) + 1 :].strip()
    return None


class _Matcher:
    """Names to the real divisions' codes, by folded name."""

    def __init__(self, div: Divisions) -> None:
        self.province = {name_key(p.name): c for c, p in div.provinces.items()}
        self.county = {(c.province_code, name_key(c.name, COUNTY_WORD)): code for code, c in div.counties.items()}
        self.district = {(d.county_code, name_key(d.name)): code for code, d in div.districts.items()}
        self.rural = {(r.county_code, name_key(r.name)): code for code, r in div.rural_districts.items()}
        self.city = {(c.county_code, name_key(c.name)): code for code, c in div.cities.items()}


class Importer:
    """Checks rows and turns them into registry rows for a writer."""

    def __init__(self, writer: RegistryWriter, div: Divisions, bnd: Boundaries, append: bool) -> None:
        self.w = writer
        self.div = div
        self.bnd = bnd
        self.m = _Matcher(div)
        self.append = append
        self.seen: set[int] = set()
        self.today = date.today().isoformat()
        if append:
            self.loc_ids = self.w.lookup_ids("localities", ("county_code", "district_code", "rural_district_code",
                                                            "type", "name"))
            self.hood_ids = self.w.lookup_ids("neighbourhoods", ("locality_id", "name"))
            self.tf_ids = self.w.lookup_ids("thoroughfares", ("locality_id", "type", "name"))
            self.bld_ids = self.w.lookup_ids("buildings", ("locality_id", "neighbourhood_id", "prev_thoroughfare_id",
                                                           "last_thoroughfare_id", "plate", "entrance", "name",
                                                           "lat", "lon"))
            self.next = {t: self.w.max_id(t) for t in ("localities", "neighbourhoods", "thoroughfares",
                                                       "buildings", "units")}
        else:
            self.loc_ids, self.hood_ids, self.tf_ids, self.bld_ids = {}, {}, {}, {}
            self.next = dict.fromkeys(("localities", "neighbourhoods", "thoroughfares", "buildings", "units"), 0)
            self.w.add("provinces", [(p.code, p.name) for p in div.provinces.values()])
            self.w.add("counties", [(c.code, c.name, c.province_code) for c in div.counties.values()])
            self.w.add("districts", [(d.code, d.name, d.county_code) for d in div.districts.values()])
            self.w.add("rural_districts", [(r.code, r.name, r.county_code, r.district_code)
                                           for r in div.rural_districts.values()])
        self.pending: dict[str, list[tuple[Any, ...]]] = {t: [] for t in self.next}

    def _id(
        self, table: str, index: dict[tuple[Any, ...], int], key: tuple[Any, ...],
        row: Callable[[int], tuple[Any, ...]],
    ) -> int:
        found = index.get(key)
        if found is not None:
            return found
        self.next[table] += 1
        new = self.next[table]
        index[key] = new
        self.pending[table].append(row(new))
        return new

    def check(self, i: int, r: dict[str, str]) -> tuple[RowError | None, dict[str, Any]]:
        """Validate one row; return an error or the resolved values."""
        if "__error__" in r:
            return RowError(i, "*", "malformed_row", f"the row {r['__error__']}"), {}
        for f in REQUIRED:
            if not r[f].strip():
                return RowError(i, f, "required", f"{f} is required"), {}
        v = pc.validate(r["postcode"])
        if not v.valid or v.postcode is None:
            return RowError(i, "postcode", ",".join(v.reasons), "; ".join(v.messages())), {}
        code = int(v.postcode)
        if code in self.seen:
            return RowError(i, "postcode", "duplicate", f"postcode {v.postcode} appears twice in the file"), {}
        self.seen.add(code)
        try:
            lat, lon = float(r["lat"]), float(r["lon"])
        except ValueError:
            return RowError(i, "lat/lon", "not_a_number", "coordinates must be decimal degrees"), {}
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            return RowError(i, "lat/lon", "out_of_range", "coordinates out of range"), {}
        prov = self.m.province.get(name_key(r["province"], ("استان",)))
        if prov is None:
            return RowError(i, "province", "unknown_division", f"no province named «{r['province']}»"), {}
        county = self.m.county.get((prov, name_key(r["county"], COUNTY_WORD)))
        if county is None:
            return RowError(i, "county", "unknown_division",
                            f"no county «{r['county']}» in province «{r['province']}»"), {}
        district = ""
        if r["district"].strip():
            district = self.m.district.get((county, name_key(r["district"])), "")
            if not district:
                return RowError(i, "district", "unknown_division", f"no district «{r['district']}» in this county"), {}
        rural = ""
        if r["rural_district"].strip():
            rural = self.m.rural.get((county, name_key(r["rural_district"])), "")
            if not rural:
                return RowError(i, "rural_district", "unknown_division",
                                f"no rural district «{r['rural_district']}» in this county"), {}
        locality_type = locality_type_word(r["locality_type"])
        if locality_type is None:
            return RowError(i, "locality_type", "unknown_value",
                            f"locality type must be one of {sorted(_LOCALITY_TYPES)} (or city, village, hamlet)"), {}
        last = split_thoroughfare(r["last_thoroughfare"])
        if last is None:
            return RowError(i, "last_thoroughfare", "no_type_word", "a thoroughfare starts with its type word"), {}
        prev = None
        if r["prev_thoroughfare"].strip():
            prev = split_thoroughfare(r["prev_thoroughfare"])
            if prev is None:
                return RowError(i, "prev_thoroughfare", "no_type_word", "a thoroughfare starts with its type word"), {}
        floor: int | None = None
        if r["floor"].strip():
            try:
                floor = int(r["floor"])
            except ValueError:
                return RowError(i, "floor", "not_an_integer", "floor is a whole number (0 = همکف)"), {}
        usage = usage_code(r["usage"]) if r["usage"].strip() else Usage.RESIDENTIAL.value
        if usage is None:
            return RowError(i, "usage", "unknown_value", f"usage must be one of {sorted(_USAGES)} or its Persian "
                                                         f"label ({'، '.join(USAGE_LABELS_FA.values())})"), {}
        poly = self.bnd.provinces.get(prov)
        if poly is not None and not shapely.contains_xy(poly, lon, lat):
            return RowError(i, "lat/lon", "outside_province",
                            f"the point is outside the province «{r['province']}»"), {}
        return None, dict(code=code, lat=round(lat, 7), lon=round(lon, 7), prov=prov, county=county,
                          district=district, rural=rural, last=last, prev=prev, floor=floor, usage=usage,
                          ltype=locality_type)

    def add(self, r: dict[str, str], x: dict[str, Any]) -> None:
        """Turn a checked row into registry rows."""
        ltype, lname = x["ltype"], r["locality"].strip()
        lkey = (x["county"], x["district"] or None, x["rural"] or None, ltype, lname)
        lcode = self.m.city.get((x["county"], name_key(lname)), "") if ltype == LocalityType.CITY.value else ""
        loc = self._id("localities", self.loc_ids, lkey,
                       lambda n: (n, ltype, lname, lcode or f"import-{n}", x["prov"], x["county"],
                                  x["district"] or None, x["rural"] or None, x["lat"], x["lon"]))
        hood = None
        if r["neighbourhood"].strip():
            hname = r["neighbourhood"].strip()
            hood = self._id("neighbourhoods", self.hood_ids, (loc, hname), lambda n: (n, loc, hname))

        def tf(t: tuple[str, str]) -> int:
            return self._id("thoroughfares", self.tf_ids, (loc, t[0], t[1]), lambda n: (n, loc, t[0], t[1]))

        last_id = tf(x["last"])
        prev_id = tf(x["prev"]) if x["prev"] else None
        plate, entrance, bname = r["plate"].strip(), r["entrance"].strip(), r["building"].strip()
        bkey = (loc, hood, prev_id, last_id, plate, entrance, bname, x["lat"], x["lon"])
        bld = self._id("buildings", self.bld_ids, bkey,
                       lambda n: (n, loc, hood, prev_id, last_id, plate, entrance, bname, x["lat"], x["lon"],
                                  GeocodeSource.IMPORTED.value, _QUALITY_BUILDING))
        self.next["units"] += 1
        self.pending["units"].append((self.next["units"], x["code"], bld, x["floor"], r["unit"].strip(), x["usage"],
                                      Status.ACTIVE.value, self.today, None))

    def flush(self) -> None:
        """Write pending rows (parents first)."""
        for t in ("localities", "neighbourhoods", "thoroughfares", "buildings", "units"):
            if self.pending[t]:
                self.w.add(t, self.pending[t])
                self.pending[t] = []


def import_file(
    path: Path,
    writer: RegistryWriter,
    divisions: Divisions,
    boundaries: Boundaries,
    fmt: Literal["csv", "jsonl"] = "csv",
    append: bool = False,
    skip_bad: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Check and load every row of ``path`` into ``writer`` (the caller commits or aborts)."""
    imp = Importer(writer, divisions, boundaries, append)
    summary = ImportSummary()
    batch: list[tuple[int, dict[str, str], dict[str, Any]]] = []

    def settle() -> None:
        # Duplicates against the registry are checked in batches (one query per 500 codes).
        if append and batch:
            existing = writer.existing_postcodes([b[2]["code"] for b in batch])
        else:
            existing = set()
        for i, r, x in batch:
            if x["code"] in existing:
                err = RowError(i, "postcode", "already_registered",
                               f"postcode {pc.from_int(x['code'])} is already in the registry")
                if not skip_bad:
                    raise ImportError_(path, err)
                summary.rejected += 1
                summary.rejects.append((r, err))
                continue
            imp.add(r, x)
            summary.loaded += 1
        batch.clear()
        imp.flush()

    for i, r in read_rows(path, fmt):
        summary.rows += 1
        err, x = imp.check(i, r)
        if err is not None:
            if not skip_bad:
                raise ImportError_(path, err)
            summary.rejected += 1
            summary.rejects.append((r, err))
            continue
        batch.append((i, r, x))
        if len(batch) >= 5000:
            settle()
            if progress:
                progress(5000)
    settle()
    writer.add("meta", [("source", "imported"), ("imported_from", path.name)])
    return summary


def write_rejects(rejects: list[tuple[dict[str, str], RowError]], out: Path) -> None:
    """Each rejected row with its original fields and the reason (row, field, rule, message)."""
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([*EXPORT_COLUMNS, "row", "field", "rule", "reason"])
        for r, e in rejects:
            w.writerow(neutralise_row([*(r.get(c, "") for c in EXPORT_COLUMNS), e.row, e.field, e.rule, e.message]))
