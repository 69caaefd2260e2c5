"""Rows of a CSV file read in chunks: the file commands (`reverse`, `lookup --file`) answer a chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator


def row_chunks(reader: Iterator[list[str]], size: int) -> Iterator[list[list[str]]]:
    """The reader's rows in lists of ``size`` (the last one shorter)."""
    chunk: list[list[str]] = []
    for row in reader:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
