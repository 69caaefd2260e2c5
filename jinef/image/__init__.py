"""The read image: the contract between the write side (which compiles it) and the read side (which maps it).

See :mod:`jinef.image.folder` for the on-disk form and :mod:`jinef.image.layout` for what is in it.
"""

from jinef.image.folder import ImageError, ImageWriter, ReadImage, current_generation, new_generation, publish
from jinef.image.strings import StringTable

__all__ = ["ImageError", "ImageWriter", "ReadImage", "StringTable", "current_generation", "new_generation",
           "publish"]
