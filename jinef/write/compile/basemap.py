"""The offline basemap built from the reference data: the admin index's polygons simplified to a tolerance a
country-to-city zoom cannot tell apart, coordinates rounded to 4 decimals (~10 m), and gzipped once."""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import mapping

from jinef.image.basemap import LEVELS, Basemap, basemap_etag
from jinef.write.refdata.boundaries import Boundaries, load_boundaries
from jinef.write.refdata.divisions import Divisions, load_divisions
from jinef.write.refdata.paths import data_dir

__all__ = ["LEVELS", "basemap_features", "load_basemap"]

DECIMALS = 4


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
        out[level] = Basemap(level, body, gzip.compress(body, 6, mtime=0), basemap_etag(body), len(doc["features"]))
    return out


def load_basemap(level: str, root: Path | None = None) -> Basemap:
    """One level's basemap, built once per process."""
    if level not in LEVELS:
        raise ValueError(f"unknown basemap level {level!r}: one of {', '.join(LEVELS)}")
    return _cached((root or data_dir()).resolve())[level]
