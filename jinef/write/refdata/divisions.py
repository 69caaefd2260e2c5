"""Iran's administrative divisions from ``divisions/`` (Statistical Centre codes), joined and repaired.

Codes are text: province 2 digits, county +2, district (بخش) +2, city/rural district +4.
Some files lost a leading zero (Markazi's province code is 00); such codes are padded back and
the repair is reported. Inside the files, records link by the files' own ids, which are reliable.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from jinef.text.letters import name_key
from jinef.write.refdata.paths import DataMissingError, data_dir, data_file
from jinef.write.refdata.report import JoinReport

COUNTY_WORD = ("شهرستان",)


@dataclass(frozen=True, slots=True)
class Province:
    """استان."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class County:
    """شهرستان, with its 2016 census population when the census has it."""

    code: str
    name: str
    province_code: str
    population: int | None


@dataclass(frozen=True, slots=True)
class District:
    """بخش."""

    code: str
    name: str
    county_code: str


@dataclass(frozen=True, slots=True)
class City:
    """A city (شهر) with its coordinates."""

    code: str
    name: str
    county_code: str
    district_code: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True, slots=True)
class RuralDistrict:
    """دهستان: the rural district that holds villages."""

    code: str
    name: str
    county_code: str
    district_code: str


@dataclass(frozen=True, slots=True)
class CityDistrict:
    """A municipal district of a city (e.g. «آبادان 1»)."""

    code: str
    name: str
    city_code: str
    number: int


@dataclass
class Divisions:
    """Every division, keyed by code, with the report of joins that needed attention."""

    provinces: dict[str, Province]
    counties: dict[str, County]
    districts: dict[str, District]
    cities: dict[str, City]
    rural_districts: dict[str, RuralDistrict]
    city_districts: dict[str, CityDistrict]
    report: JoinReport = field(default_factory=JoinReport)

    def counties_of(self, province_code: str) -> list[County]:
        """Counties of one province, by code."""
        return [c for c in self.counties.values() if c.province_code == province_code]

    def cities_of(self, county_code: str) -> list[City]:
        """Cities of one county, by code."""
        return self._by_county(self.cities, county_code)

    def rural_districts_of(self, county_code: str) -> list[RuralDistrict]:
        """Rural districts of one county, by code."""
        return self._by_county(self.rural_districts, county_code)

    def seat_of(self, county_code: str) -> City | None:
        """The county seat: the city named like its county, else the first city of the central district."""
        cities = self.cities_of(county_code)
        if not cities:
            return None
        county_key = name_key(self.counties[county_code].name)
        for city in cities:
            if name_key(city.name) == county_key:
                return city
        central = [c for c in cities if self.districts[c.district_code].name == "مرکزی"]
        return (central or cities)[0]

    def _by_county(self, items: dict, county_code: str) -> list:
        # Grouped once per table: the generator asks for every county's cities and rural districts.
        cache = self.__dict__.setdefault("_groups", {})
        groups = cache.get(id(items))
        if groups is None:
            groups = {}
            for x in sorted(items.values(), key=lambda x: x.code):
                groups.setdefault(x.county_code, []).append(x)
            cache[id(items)] = groups
        return list(groups.get(county_code, []))


def _read(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataMissingError(f"cannot read {path}: {exc}") from exc


def _code(raw: str, width: int, source: str, report: JoinReport) -> str:
    if len(raw) < width and raw.isdigit():
        report.add(source, raw, f"code has {len(raw)} digits, expected {width}", "padded leading zero")
        return raw.zfill(width)
    return raw


def _need(row: dict[str, str], source: str, line: int, *names: str) -> None:
    for n in names:
        if not (row.get(n) or "").strip():
            raise DataMissingError(f"{source} row {line}: field {n!r} is empty")


def load_divisions(root: Path | None = None) -> Divisions:
    """Read and join ``divisions/`` and the census population; report what did not join."""
    root = root or data_dir()
    report = JoinReport()
    f = {n: data_file("divisions", f"{n}.csv", root=root) for n in (
        "provinces", "counties", "sectors", "cities", "city_coordinates", "rural_districts", "city_districts")}

    provinces: dict[str, Province] = {}
    prov_by_id: dict[str, str] = {}
    for i, r in enumerate(_read(f["provinces"]), start=2):
        _need(r, "divisions/provinces.csv", i, "id", "name", "code")
        code = _code(r["code"], 2, "divisions/provinces.csv", report)
        provinces[code] = Province(code, r["name"].strip())
        prov_by_id[r["id"]] = code

    county_rows: dict[str, tuple[str, str, str]] = {}
    county_by_id: dict[str, str] = {}
    for i, r in enumerate(_read(f["counties"]), start=2):
        _need(r, "divisions/counties.csv", i, "id", "name", "code", "province_id")
        code = _code(r["code"], 4, "divisions/counties.csv", report)
        county_rows[code] = (r["name"].strip(), prov_by_id[r["province_id"]], r["id"])
        county_by_id[r["id"]] = code

    population = _load_population(root, county_rows, report)
    counties = {
        code: County(code, name, prov, population.get(code)) for code, (name, prov, _id) in county_rows.items()
    }

    districts: dict[str, District] = {}
    district_by_id: dict[str, str] = {}
    for i, r in enumerate(_read(f["sectors"]), start=2):
        _need(r, "divisions/sectors.csv", i, "id", "name", "code", "county_id")
        code = _code(r["code"], 6, "divisions/sectors.csv", report)
        districts[code] = District(code, r["name"].strip(), county_by_id[r["county_id"]])
        district_by_id[r["id"]] = code

    coords: dict[str, tuple[float, float]] = {}
    for r in _read(f["city_coordinates"]):
        try:
            coords[r["city_id"]] = (float(r["lat"]), float(r["lon"]))
        except (TypeError, ValueError):
            report.add("divisions/city_coordinates.csv", r.get("city_id", "?"), "unreadable coordinates", "skipped")

    cities: dict[str, City] = {}
    city_by_id: dict[str, str] = {}
    for i, r in enumerate(_read(f["cities"]), start=2):
        _need(r, "divisions/cities.csv", i, "id", "name", "code", "county_id", "sector_id")
        code = _code(r["code"], 10, "divisions/cities.csv", report)
        lat, lon = coords.get(r["id"], (None, None))
        if lat is None:
            report.add("divisions/cities.csv", code, "no coordinates", "placed at its county's interior point")
        cities[code] = City(code, r["name"].strip(), county_by_id[r["county_id"]],
                            district_by_id[r["sector_id"]], lat, lon)
        city_by_id[r["id"]] = code

    rural: dict[str, RuralDistrict] = {}
    for i, r in enumerate(_read(f["rural_districts"]), start=2):
        _need(r, "divisions/rural_districts.csv", i, "id", "name", "code", "county_id", "sector_id")
        code = _code(r["code"], 10, "divisions/rural_districts.csv", report)
        rural[code] = RuralDistrict(code, r["name"].strip(), county_by_id[r["county_id"]],
                                    district_by_id[r["sector_id"]])

    city_districts: dict[str, CityDistrict] = {}
    for i, r in enumerate(_read(f["city_districts"]), start=2):
        _need(r, "divisions/city_districts.csv", i, "id", "name", "code", "city_id")
        code = _code(r["code"], 10, "divisions/city_districts.csv", report)
        city_code = city_by_id.get(r["city_id"])
        if city_code is None:
            report.add("divisions/city_districts.csv", code, "unknown city id", "skipped")
            continue
        num = int(r["district"]) if (r.get("district") or "").isdigit() else 0
        city_districts[code] = CityDistrict(code, r["name"].strip(), city_code, num)

    return Divisions(provinces, counties, districts, cities, rural, city_districts, report)


def _load_population(
    root: Path, counties: dict[str, tuple[str, str, str]], report: JoinReport
) -> dict[str, int]:
    """County population of 2016, joined by code, then by normalised name inside the province."""
    path = data_file("population", "county_population_2016.csv", root=root)
    by_name: dict[tuple[str, str], str] = {}
    for code, (name, prov, _id) in counties.items():
        by_name[(prov, name_key(name, COUNTY_WORD))] = code
    pop: dict[str, int] = defaultdict(int)
    for i, r in enumerate(_read(path), start=2):
        try:
            value = int(r["population"])
        except (KeyError, ValueError) as exc:
            raise DataMissingError(f"{path} row {i}: field 'population' is not a whole number") from exc
        ccode = r["county_code"].zfill(4)
        census_name = r.get("county_name", "")
        target = ccode if ccode in counties and name_key(counties[ccode][0]) == name_key(census_name) else None
        if target is None:
            target = by_name.get((r["province_code"].zfill(2), name_key(census_name, COUNTY_WORD)))
            if target is not None and target != ccode:
                report.add("population/county_population_2016.csv", f"{ccode} {census_name}",
                           "census code names another county", f"joined by name to {target}")
        if target is None and ccode in counties:
            target = ccode
            report.add("population/county_population_2016.csv", f"{ccode} {census_name}",
                       f"name differs from «{counties[ccode][0]}»", "joined by code")
        if target is None:
            report.add("population/county_population_2016.csv", f"{ccode} {census_name}",
                       "no county with this code or name", "not used")
            continue
        pop[target] += value
    for code, (name, _prov, _id) in counties.items():
        if code not in pop:
            report.add("divisions/counties.csv", f"{code} {name}", "no 2016 census figure (newer county)",
                       "given its province's median county population")
    return dict(pop)
