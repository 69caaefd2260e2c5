"""The offline basemap served from the read image (no reference data needed to serve it)."""

from __future__ import annotations

from jinef.image.basemap import LEVELS, Basemap, basemap_etag
from jinef.image.folder import ReadImage

__all__ = ["LEVELS", "Basemap", "basemap_from_image"]


def basemap_from_image(image: ReadImage, level: str) -> Basemap:
    """One level's basemap as compiled into a read image (``basemap/<level>.json`` and its gzip)."""
    if level not in LEVELS:
        raise ValueError(f"unknown basemap level {level!r}: one of {', '.join(LEVELS)}")
    body = image.array(f"basemap/{level}.json").tobytes()
    gz = image.array(f"basemap/{level}.json.gz").tobytes()
    return Basemap(level, body, gz, basemap_etag(body), body.count(b'"type":"Feature"'))
