"""The offline basemap as a read image holds it: province and county boundaries as simplified GeoJSON, for maps
with no tile server (compiled by :mod:`jinef.write.compile.basemap`, served by :mod:`jinef.read.geo.basemap`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

LEVELS: dict[str, float] = {"provinces": 0.01, "counties": 0.005}  # simplification tolerance in degrees


@dataclass(frozen=True, slots=True)
class Basemap:
    """One level's GeoJSON, ready to send."""

    level: str
    body: bytes
    gzipped: bytes
    etag: str
    features: int


def basemap_etag(body: bytes) -> str:
    """A strong ETag of a body."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


