"""What the on-disk caches share (``var/cache``): where they live, polygons as WKB, atomic ``.npz`` writes.

No pickle anywhere: a cache file is numpy arrays and text, so reading one cannot run code.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from jinef.common.settings import settings


def default_cache_dir() -> Path:
    """Where caches live: ``JINEF_CACHE_DIR``, else ``var/cache`` under the working directory."""
    return settings().cache_dir


def fingerprint(head: str, root: Path, folders: tuple[str, ...], code: tuple[Path, ...] = ()) -> str:
    """A short hash naming a cache file: ``head`` (format, versions), the text of the ``code`` files whose
    rules shape the cached data, and the paths, sizes and modification times of the source files."""
    h = hashlib.sha256(f"{head}:{root.resolve()}\n".encode())
    for path in code:
        h.update(path.read_bytes())
    for folder in folders:
        for f in sorted((root / folder).rglob("*")):
            if f.is_file():
                st = f.stat()
                h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def wkb_pack(geoms: list[BaseGeometry]) -> tuple[np.ndarray, np.ndarray]:
    """Geometries as one byte array of WKB and the offsets of each (n + 1)."""
    blobs = [shapely.to_wkb(g) for g in geoms]
    offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
    np.cumsum([len(b) for b in blobs], out=offsets[1:])
    return np.frombuffer(b"".join(blobs), dtype=np.uint8), offsets


def wkb_unpack(data: np.ndarray, offsets: np.ndarray) -> list[BaseGeometry]:
    """The geometries :func:`wkb_pack` packed, in order."""
    raw = data.tobytes()
    blobs = np.array([raw[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)], dtype=object)
    return list(shapely.from_wkb(blobs))


def save_npz(path: Path, arrays: dict[str, Any]) -> None:
    """Write arrays to ``path`` through a temporary file and a rename: several workers starting at once
    never read a half-written cache."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        np.savez(fh, **arrays)
    os.replace(tmp, path)
