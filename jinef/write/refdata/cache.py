"""An on-disk cache of the joined polygons, so each build does not parse 9 MB of GeoJSON again.

Parsing the GeoJSON, building the polygons and repairing the invalid ones takes about a second;
reading them back as WKB takes a few milliseconds. The cache file is named by a fingerprint of
the source files (paths, sizes, modification times) and of the code that reads and joins them,
so a changed source or a changed rule never serves stale polygons. No pickle: a cache file
cannot run code.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry.base import BaseGeometry

from jinef.common.cache_files import default_cache_dir, save_npz, wkb_pack, wkb_unpack
from jinef.common.cache_files import fingerprint as files_fingerprint
from jinef.text import letters as _letters
from jinef.write.refdata import boundaries as _boundaries
from jinef.write.refdata import divisions as _divisions
from jinef.write.refdata.boundaries import Boundaries, load_boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.refdata.paths import data_dir
from jinef.write.refdata.report import JoinIssue, JoinReport

CACHE_FORMAT = 1  # bump when the layout of the cached arrays changes
_SOURCES = ("boundaries", "divisions", "population")  # the folders the joined polygons depend on
_CODE = (_boundaries, _divisions, _letters)  # the modules whose rules decide the join


def fingerprint(root: Path) -> str:
    """A hash of the source files' paths, sizes and modification times, and of the joining code."""
    return files_fingerprint(f"{CACHE_FORMAT}:{shapely.__version__}", root, _SOURCES,
                             tuple(Path(str(m.__file__)) for m in _CODE))


def _pack(geoms: dict[str, BaseGeometry]) -> dict[str, np.ndarray]:
    wkb, offsets = wkb_pack(list(geoms.values()))
    return {"codes": np.array(list(geoms), dtype=str), "wkb": wkb, "offsets": offsets}


def _unpack(codes: np.ndarray, wkb: np.ndarray, offsets: np.ndarray) -> dict[str, BaseGeometry]:
    return dict(zip((str(c) for c in codes), wkb_unpack(wkb, offsets), strict=True))


def save_boundaries(bnd: Boundaries, path: Path) -> None:
    """Write the polygons and their join report (atomically: a reader never sees half a file)."""
    # Any: numpy's stubs type savez's **kwds as its bool option.
    arrays: dict[str, Any] = {"report": np.array(json.dumps(bnd.report.as_list(), ensure_ascii=False))}
    for level, geoms in (("provinces", bnd.provinces), ("counties", bnd.counties)):
        arrays.update({f"{level}_{k}": v for k, v in _pack(geoms).items()})
    save_npz(path, arrays)


def read_boundaries(path: Path) -> Boundaries:
    """Polygons saved by :func:`save_boundaries`."""
    with np.load(path, allow_pickle=False) as z:
        levels = [_unpack(z[f"{n}_codes"], z[f"{n}_wkb"], z[f"{n}_offsets"]) for n in ("provinces", "counties")]
        report = JoinReport([JoinIssue(**i) for i in json.loads(str(z["report"]))])
    return Boundaries(levels[0], levels[1], report)


def load_boundaries_cached(divisions: Divisions, root: Path | None = None,
                           cache_dir: Path | None = None) -> Boundaries:
    """The polygons joined to the divisions read from ``root``: from the cache when it matches, else loaded and cached.

    ``divisions`` must be the divisions of ``root`` (the cache is keyed by the files, not by the object).
    """
    root = (root or data_dir()).resolve()
    path = (cache_dir or default_cache_dir()) / f"boundaries-{fingerprint(root)}.npz"
    if path.is_file():
        try:
            return read_boundaries(path)
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, GEOSException):
            pass  # unreadable or from an older layout: load again and overwrite
    bnd = load_boundaries(divisions, root)
    try:
        save_boundaries(bnd, path)
    except OSError:
        pass  # a read-only location only costs the next build its second
    return bnd
