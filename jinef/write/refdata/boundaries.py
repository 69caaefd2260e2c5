"""Province and county polygons (OpenStreetMap via iran-geojson), joined to the divisions by name.

Province polygons carry only names; county polygons carry ``tags.name`` such as «شهرستان اسلامشهر»
and sit in files named by the province's ISO number (= SCI province code). Joins that fail are
reported; no polygon is ever guessed onto a county.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from jinef.text.letters import name_key
from jinef.write.refdata.divisions import COUNTY_WORD, Divisions
from jinef.write.refdata.paths import DataMissingError, data_dir, data_file
from jinef.write.refdata.report import JoinReport


@dataclass
class Boundaries:
    """Polygons keyed by SCI code; counties without a polygon are absent (and reported)."""

    provinces: dict[str, BaseGeometry]
    counties: dict[str, BaseGeometry]
    report: JoinReport = field(default_factory=JoinReport)


def _load_geojson(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataMissingError(f"cannot read {path}: {exc}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("features"), list):
        raise DataMissingError(f"{path} is not a GeoJSON FeatureCollection")
    return doc


def _polygon(feature: dict[str, Any], source: str, report: JoinReport, key: str) -> BaseGeometry | None:
    geom = feature.get("geometry")
    if not geom or geom.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    try:
        poly = shape(geom)
    except (ValueError, TypeError, AttributeError):
        report.add(source, key, "geometry cannot be read", "skipped")
        return None
    if not poly.is_valid:
        poly = shapely.make_valid(poly)
        report.add(source, key, "invalid polygon", "repaired with make_valid")
    if poly.is_empty or poly.area == 0:
        report.add(source, key, "empty or degenerate polygon", "skipped")
        return None
    return poly


def load_boundaries(divisions: Divisions, root: Path | None = None) -> Boundaries:
    """Read province and county polygons and join them to the divisions' codes."""
    root = root or data_dir()
    report = JoinReport()
    prov_by_key = {name_key(p.name): p.code for p in divisions.provinces.values()}
    provinces: dict[str, BaseGeometry] = {}
    src = "boundaries/provinces.geojson"
    for feat in _load_geojson(data_file("boundaries", "provinces.geojson", root=root))["features"]:
        props = feat.get("properties") or {}
        name = props.get("name:fa") or props.get("name") or ""
        code = prov_by_key.get(name_key(name, ("استان",)))
        if code is None:
            report.add(src, name, "no province with this name", "skipped")
            continue
        poly = _polygon(feat, src, report, name)
        if poly is not None:
            provinces[code] = poly
    for code, p in divisions.provinces.items():
        if code not in provinces:
            report.add("divisions/provinces.csv", f"{code} {p.name}", "no province polygon", "none used")

    counties: dict[str, BaseGeometry] = {}
    for prov_code in sorted(divisions.provinces):
        path = root / "boundaries" / "counties" / f"IR-{prov_code}.geojson"
        src = f"boundaries/counties/IR-{prov_code}.geojson"
        if not path.is_file():
            report.add(src, prov_code, "file missing", "province's counties have no polygons")
            continue
        by_key = {name_key(c.name, COUNTY_WORD): c.code for c in divisions.counties_of(prov_code)}
        for feat in _load_geojson(path)["features"]:
            tags = (feat.get("properties") or {}).get("tags") or {}
            name = tags.get("name", "")
            geom_type = (feat.get("geometry") or {}).get("type")
            if geom_type not in ("Polygon", "MultiPolygon"):
                continue  # label nodes
            code = by_key.get(name_key(name, COUNTY_WORD))
            if code is None:
                report.add(src, name, "no county of this province with this name", "skipped")
                continue
            poly = _polygon(feat, src, report, name)
            if poly is None:
                continue
            if code in counties:
                report.add(src, name, "second polygon for the same county", "merged")
                poly = counties[code].union(poly)
            counties[code] = poly
    for code, c in divisions.counties.items():
        if code not in counties:
            report.add("divisions/counties.csv", f"{code} {c.name}", "no county polygon",
                       "its units are placed inside the province polygon")
    return Boundaries(provinces, counties, report)
