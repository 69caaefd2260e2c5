"""The offline basemap: province and county boundaries as simplified GeoJSON, for maps with no tile server.

Built from the same polygons as the admin index (:mod:`jinef.refdata.boundaries`), simplified to a
tolerance a country-to-city zoom cannot tell apart, with coordinates rounded to 4 decimals (~10 m),
and kept per process: the bytes are served as they are, gzipped once.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping

from jinef.image.folder import ReadImage
from jinef.refdata.boundaries import Boundaries, load_boundaries
from jinef.refdata.divisions import Divisions, load_divisions
from jinef.refdata.paths import data_dir

LEVELS: dict[str, float] = {"provinces": 0.01, "counties": 0.005}  # simplification tolerance in degrees
DECIMALS = 4


@dataclass(frozen=True, slots=True)
class Basemap:
    """One level's GeoJSON, ready to send."""

    level: str
    body: bytes
    gzipped: bytes
    etag: str
    features: int


def _round(coords: Any) -> Any:
    if isinstance(coords, float | int):
        return round(float(coords), DECIMALS)
    return [_round(c) for c in coords]


def basemap_features(level: str, divisions: Divisions, boundaries: Boundaries) -> dict[str, Any]:
    """A FeatureCollection of one level (``provinces`` or ``counties``) with code and name properties."""
    if level not in LEVELS:
        raise ValueError(f"unknown basemap level {level!r}: one of {', '.join(LEVELS)}")
    geoms = boundaries.provinces if level == "provinces" else boundaries.counties
    features = []
    for code in sorted(geoms):
        simple = shapely.simplify(geoms[code], LEVELS[level], preserve_topology=True)
        if simple.is_empty:
            continue
        geom = mapping(simple)
        props: dict[str, Any] = {"code": code}
        if level == "provinces":
            props["name"] = divisions.provinces[code].name
        else:
            county = divisions.counties[code]
            props.update(name=county.name, province_code=county.province_code)
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": geom["type"], "coordinates": _round(geom["coordinates"])}})
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=2)
def _cached(root: Path) -> dict[str, Basemap]:
    """Every level from one read of the polygons (reading them is most of the cost)."""
    divisions = load_divisions(root)
    boundaries = load_boundaries(divisions, root)
    out = {}
    for level in LEVELS:
        doc = basemap_features(level, divisions, boundaries)
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        out[level] = Basemap(level, body, gzip.compress(body, 6, mtime=0), _etag(body), len(doc["features"]))
    return out


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def basemap_from_image(image: ReadImage, level: str) -> Basemap:
    """One level's basemap as compiled into a read image (``basemap/<level>.json`` and its gzip)."""
    if level not in LEVELS:
        raise ValueError(f"unknown basemap level {level!r}: one of {', '.join(LEVELS)}")
    body = image.array(f"basemap/{level}.json").tobytes()
    gz = image.array(f"basemap/{level}.json.gz").tobytes()
    return Basemap(level, body, gz, _etag(body), body.count(b'"type":"Feature"'))


def load_basemap(level: str, root: Path | None = None) -> Basemap:
    """One level's basemap, built once per process."""
    if level not in LEVELS:
        raise ValueError(f"unknown basemap level {level!r}: one of {', '.join(LEVELS)}")
    return _cached((root or data_dir()).resolve())[level]
