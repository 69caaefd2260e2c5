"""Strings in a read image: one UTF-8 blob and an offsets array, read without making a Python object per string.

A national registry has millions of thoroughfare and building names. As Python lists they would cost every
worker hundreds of megabytes and seconds to load; as a blob and offsets (both memory-mapped) they cost
nothing until one is read, and reading one is a slice and a decode. Each string is followed by a NUL so the
whole table can also be decoded at once (``tolist``) for the small tables that are read in bulk.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

import numpy as np

_SEP = "\0"


def pack_strings(values: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """(blob, offsets) for ``values``: string i is ``blob[offsets[i]:offsets[i + 1] - 1]`` (a NUL follows each)."""
    values = list(values)
    if any(_SEP in v for v in values):
        raise ValueError("a string in a read image cannot hold a NUL character")
    encoded = [v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) + 1 for e in encoded], out=offsets[1:])
    blob = np.frombuffer(b"".join(e + b"\0" for e in encoded), dtype=np.uint8) if encoded else np.zeros(0, np.uint8)
    return blob, offsets


class StringTable(Sequence[str]):
    """Read access to packed strings (see :func:`pack_strings`); a sorted table also answers ``find``."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray) -> None:
        self.blob = blob
        self.offsets = offsets
        # Memoryviews hand out slices and plain ints with no numpy scalar machinery.
        self._bytes = np.ascontiguousarray(blob, dtype=np.uint8).data if len(blob) else memoryview(b"")
        self._offsets = np.ascontiguousarray(offsets, dtype=np.int64).data
        self._n = len(offsets) - 1

    @classmethod
    def of(cls, values: Iterable[str]) -> StringTable:
        """A table held in memory (for tests and small derived tables)."""
        return cls(*pack_strings(values))

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        offsets = self._offsets
        return str(self._bytes[offsets[i]:offsets[i + 1] - 1], "utf-8")

    def tolist(self) -> list[str]:
        """Every string, decoded in one pass (for small tables read whole)."""
        if not self._n:
            return []
        return bytes(self._bytes).decode("utf-8").split(_SEP)[:-1]

    def find(self, value: str) -> int:
        """Position of ``value`` in a table sorted by code point, -1 when absent."""
        i = bisect_left(self, value)
        return i if i < self._n and self[i] == value else -1

    def prefix_range(self, prefix: str) -> tuple[int, int]:
        """[first, end) of the strings starting with ``prefix`` in a sorted table."""
        lo = bisect_left(self, prefix)
        hi = bisect_left(self, prefix + "\U0010ffff", lo)
        return lo, hi

    @property
    def nbytes(self) -> int:
        """Bytes of the blob and offsets."""
        return int(self.blob.nbytes + self.offsets.nbytes)
