"""The admin index built from the reference data (divisions and OSM polygons), and its on-disk cache.

Building it from the GeoJSON takes seconds, so :func:`load_admin_index` keeps the cleaned polygons (WKB) and
the grid in an ``.npz`` under ``var/cache/`` (or ``JINEF_CACHE_DIR``), named by a hash of the source files'
sizes and modification times: a changed source file gets a new cache. The compiler writes the same arrays
into the read image (:mod:`jinef.write.compile.admin`).
"""

from __future__ import annotations

import json
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from jinef.common.cache_files import default_cache_dir, save_npz
from jinef.common.cache_files import fingerprint as files_fingerprint
from jinef.image.admin_index import GRID_DEGREES, AdminIndex, Area, admin_arrays, admin_from_arrays
from jinef.write.refdata.boundaries import Boundaries, load_boundaries
from jinef.write.refdata.divisions import COUNTY_WORD, Divisions, load_divisions
from jinef.write.refdata.paths import data_dir

_UNJOINED = "no county of this province with this name"


def osm_only_counties(boundaries: Boundaries, root: Path) -> list[tuple[Area, BaseGeometry]]:
    """County polygons the boundaries loader could not join to the divisions list, with their OSM names."""
    wanted: dict[str, set[str]] = {}
    for issue in boundaries.report.issues:
        if issue.problem == _UNJOINED and issue.source.startswith("boundaries/counties/"):
            wanted.setdefault(issue.source, set()).add(issue.key)
    out: list[tuple[Area, BaseGeometry]] = []
    for source, names in sorted(wanted.items()):
        prov_code = Path(source).stem.removeprefix("IR-")
        with (root / source).open(encoding="utf-8") as fh:
            features = json.load(fh)["features"]
        for feat in features:
            name = ((feat.get("properties") or {}).get("tags") or {}).get("name", "")
            geom = feat.get("geometry") or {}
            if name in names and geom.get("type") in ("Polygon", "MultiPolygon"):
                short = name.removeprefix(COUNTY_WORD[0]).strip()
                out.append((Area(f"osm:{prov_code}:{short}", None, short, prov_code, False), shape(geom)))
    return out


def build_admin_index(divisions: Divisions, boundaries: Boundaries, root: Path | None = None) -> AdminIndex:
    """The admin index from loaded divisions and boundaries (plus the OSM-only counties)."""
    root = root or data_dir()
    provinces = [(Area(code, code, divisions.provinces[code].name, code), g)
                 for code, g in boundaries.provinces.items()]
    counties = [(Area(code, code, divisions.counties[code].name, divisions.counties[code].province_code), g)
                for code, g in boundaries.counties.items()]
    counties += osm_only_counties(boundaries, root)
    return AdminIndex.from_polygons(provinces, counties)


CACHE_FORMAT = 3  # bump when the cached arrays or the rules that fill the grid change
_SOURCES = ("boundaries", "divisions")  # the folders the index is built from


def source_fingerprint(root: Path) -> str:
    """A hash of the source files' paths, sizes and modification times (plus the grid's format and size)."""
    return files_fingerprint(f"{CACHE_FORMAT}:{GRID_DEGREES}", root, _SOURCES)


def save_admin_index(index: AdminIndex, path: Path) -> None:
    """Write the index's arrays to ``path`` atomically."""
    save_npz(path, dict(admin_arrays(index)))


def read_admin_index(path: Path) -> AdminIndex:
    """An index saved by :func:`save_admin_index`."""
    with np.load(path, allow_pickle=False) as z:
        return admin_from_arrays({k: z[k] for k in z.files})


def open_admin_index(root: Path | None = None, cache_dir: Path | None = None) -> AdminIndex:
    """The admin index from the on-disk cache when it matches the sources, else built and cached."""
    root = (root or data_dir()).resolve()
    path = (cache_dir or default_cache_dir()) / f"admin-{source_fingerprint(root)}.npz"
    if path.is_file():
        try:
            return read_admin_index(path)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # unreadable or from an older layout: rebuild and overwrite
    divisions = load_divisions(root)
    index = build_admin_index(divisions, load_boundaries(divisions, root), root)
    try:
        save_admin_index(index, path)
    except OSError:
        pass  # a read-only location only costs the next start-up its seconds
    return index


@lru_cache(maxsize=4)
def _cached(root: Path, cache_dir: Path | None) -> AdminIndex:
    return open_admin_index(root, cache_dir)


def load_admin_index(root: Path | None = None, cache_dir: Path | None = None) -> AdminIndex:
    """The admin index for the reference data folder: once per process, from the disk cache when valid."""
    return _cached((root or data_dir()).resolve(), cache_dir)
