"""Rows of a CSV file read in chunks: the file commands (`reverse`, `lookup --file`) answer a chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator

from jinef.common.messages import MessageError, message


def header_and_columns(reader: Iterator[list[str]], *columns: str) -> tuple[list[str], list[int]]:
    """The file's header and the index of each named column; a MessageError naming an empty file or the columns
    the header lacks (every file command checks its input the same way)."""
    header = next(reader, None)
    if header is None:
        raise MessageError(message("cli.file.empty"))
    missing = [c for c in columns if c not in header]
    if missing:
        raise MessageError(message("cli.file.missing_columns", columns=missing, header=header))
    return header, [header.index(c) for c in columns]


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
