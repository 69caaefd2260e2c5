"""Province and county of a point, from the admin index a read image holds (see :mod:`jinef.image.admin_index`)."""

from __future__ import annotations

from pathlib import Path

from jinef.image.admin_index import NO_AREA, AdminAnswer, AdminIndex, Area, admin_from_arrays
from jinef.image.folder import ReadImage

__all__ = ["NO_AREA", "AdminAnswer", "AdminIndex", "Area", "admin_from_image"]


_FROM_IMAGES: dict[Path, AdminIndex] = {}


def admin_from_image(image: ReadImage) -> AdminIndex:
    """The admin index a read image holds (``admin/index/*``); made once per image and process (preparing the
    polygons takes a moment, and every generation of a registry usually holds the same ones)."""
    got = _FROM_IMAGES.get(image.path)
    if got is None:
        prefix = "admin/index/"
        got = admin_from_arrays({k[len(prefix):]: v for k, v in image.arrays.items() if k.startswith(prefix)})
        if len(_FROM_IMAGES) >= 2:
            _FROM_IMAGES.pop(next(iter(_FROM_IMAGES)))
        _FROM_IMAGES[image.path] = got
    return got


