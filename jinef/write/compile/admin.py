"""The administrative part of the read image: province and county polygons with their lookup grid, and the
offline basemap, compiled from the reference data so that serving never needs ``JINEF_DATA``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jinef.image.admin_index import admin_arrays
from jinef.image.folder import ImageWriter
from jinef.write.compile.admin_index import load_admin_index
from jinef.write.compile.basemap import LEVELS, load_basemap


def compile_admin(out: ImageWriter, data_root: Path | None = None) -> None:
    """Write the admin index's arrays and each basemap level (GeoJSON and its gzip)."""
    for name, arr in admin_arrays(load_admin_index(data_root)).items():
        out.array(f"admin/index/{name}", arr)
    for level in LEVELS:
        m = load_basemap(level, data_root)
        out.array(f"basemap/{level}.json", np.frombuffer(m.body, dtype=np.uint8))
        out.array(f"basemap/{level}.json.gz", np.frombuffer(m.gzipped, dtype=np.uint8))
