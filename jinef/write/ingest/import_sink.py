"""Where the importer's rows go: straight to the writer, or through a forked process into shards.

Binding millions of values into SQLite statements holds the GIL; in a thread beside the checks it
stalled them. A SQLite registry being replaced takes shards (see :class:`ShardedWriter`), as a
parallel build does: a forked process writes the rows into private shard files with its own GIL, and
the writer appends each closed shard with one ``INSERT … SELECT`` (SQLite copying in C) from a thread
of the importer's process. Other writers (PostgreSQL, appends) get the rows directly.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from jinef.common.background import Behind
from jinef.write.store.base import RegistryWriter, ShardedWriter, ShardSet

_SHARD_ROWS = 1_000_000  # units per shard: merged while the next one is written


@dataclass
class Block:
    """Rows of one table as numpy columns: texts as numbers in the checker's vocabulary, NULLs masked."""

    table: str
    columns: dict[str, np.ndarray]
    texts: tuple[str, ...] = ()  # columns holding text numbers
    nulls: dict[str, np.ndarray] = field(default_factory=dict)  # column → rows that are NULL
    constants: dict[str, Any] = field(default_factory=dict)  # columns with one value on every row

    def __len__(self) -> int:
        return len(next(iter(self.columns.values())))

    def lists(self, texts: np.ndarray) -> dict[str, list[Any]]:
        """The columns as Python lists for :meth:`RegistryWriter.add_columns` (``texts``: an object array)."""
        out: dict[str, list[Any]] = {}
        for name, values in self.columns.items():
            column: list[Any] = (texts[values] if name in self.texts else values).tolist()
            for i in np.flatnonzero(self.nulls[name]).tolist() if name in self.nulls else ():
                column[i] = None
            out[name] = column
        for name, value in self.constants.items():
            out[name] = [value] * len(self)
        return out


class Sink(Protocol):
    """Takes the importer's rows, parents before children."""

    def rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """A few rows as tuples (localities, neighbourhoods, thoroughfares)."""
        ...

    def block(self, block: Block) -> None:
        """Many rows as columns (buildings, units)."""
        ...

    def close(self) -> None:
        """Everything written; raises what went wrong on the way."""
        ...

    def abort(self) -> None:
        """Stop without finishing (the caller aborts the writer)."""
        ...


class _Texts:
    """The checker's growing text vocabulary as an object array, re-made only when it grew."""

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self.array = np.empty(0, dtype=object)

    def current(self) -> np.ndarray:
        if len(self.array) != len(self.values):
            self.array = np.array(self.values, dtype=object)
        return self.array


class DirectSink:
    """Rows handed to the writer as they come."""

    def __init__(self, writer: RegistryWriter, texts: list[str]) -> None:
        self.w = writer
        self.texts = _Texts(texts)

    def rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """A few rows as tuples."""
        self.w.add(table, rows)

    def block(self, block: Block) -> None:
        """Many rows as columns."""
        self.w.add_columns(block.table, block.lists(self.texts.current()))

    def close(self) -> None:
        """Nothing is held back."""

    def abort(self) -> None:
        """Nothing is held back."""


class ShardSink:
    """Rows written into shards by a forked process; each closed shard appended by the writer in a thread."""

    def __init__(self, writer: ShardedWriter, shards: ShardSet, texts: list[str]) -> None:
        self.w = writer
        self.texts = texts
        self.sent_texts = 0
        ctx = multiprocessing.get_context("fork")
        data_in, self.data = ctx.Pipe(duplex=False)
        self.replies, reply_out = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_write_shards, args=(data_in, reply_out, shards, (self.data, self.replies)),
                                daemon=True, name="import-shards")
        self.proc.start()
        data_in.close()
        reply_out.close()
        self.merges = Behind(depth=1 << 10, name="import-merge")
        self.index = 0
        self.in_shard = 0
        self.open_shards = 0

    def _send(self, *msg: Any) -> None:
        if self.sent_texts < len(self.texts):  # the process learns new texts before rows that use them
            self.data.send(("texts", self.texts[self.sent_texts:]))
            self.sent_texts = len(self.texts)
        self.data.send(msg)
        self._merge_closed(wait=False)

    def rows(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """A few rows as tuples."""
        self._send("rows", self.index, table, rows)
        self.open_shards = self.index + 1

    def block(self, block: Block) -> None:
        """Many rows as columns; the shard is closed once it holds enough units."""
        self._send("block", self.index, block)
        self.open_shards = self.index + 1
        if block.table == "units":
            self.in_shard += len(block)
            if self.in_shard >= _SHARD_ROWS:
                self._send("close", self.index)
                self.index += 1
                self.in_shard = 0

    def _merge_closed(self, wait: bool) -> bool:
        """Queue the merge of every shard the process has closed; True once it has stopped."""
        while wait or self.replies.poll():
            reply = self.replies.recv()
            if reply[0] == "error":
                raise RuntimeError(f"the shard writer failed:\n{reply[1]}")
            if reply[0] == "stopped":
                return True
            self.merges.submit(self.w.merge_shard, reply[1])
        return False

    def close(self) -> None:
        """Close the last shard, wait for the process and for every merge."""
        if self.in_shard or self.open_shards > self.index:
            self._send("close", self.index)
        self.data.send(("stop",))
        while not self._merge_closed(wait=True):
            pass
        self.proc.join()
        self.merges.close()

    def abort(self) -> None:
        """Stop the process; let merges under way finish (the writer then drops everything)."""
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        try:
            self.merges.close()
        except Exception:
            pass


def open_sink(writer: RegistryWriter, texts: list[str], append: bool) -> Sink:
    """Shards written by a forked process for a SQLite registry being replaced, else the writer directly."""
    if not append and isinstance(writer, ShardedWriter) and hasattr(os, "fork"):
        shards = writer.shards()
        if shards is not None:
            return ShardSink(writer, shards, texts)
    return DirectSink(writer, texts)


def _write_shards(data: Any, replies: Any, shards: ShardSet, parent_ends: tuple[Any, ...] = ()) -> None:
    """The forked process: rows into shard files, each closed on request."""
    # The fork copied the parent's ends of both pipes: closed here, a parent that dies (killed import) closes the
    # last writer of ``data``, so recv() ends with EOFError and this process with it instead of waiting forever.
    for end in parent_ends:
        end.close()
    texts: list[str] = []
    vocab = _Texts(texts)
    shard = None
    try:
        while True:
            msg = data.recv()
            kind = msg[0]
            if kind == "texts":
                texts.extend(msg[1])
            elif kind in ("rows", "block"):
                if shard is None:
                    shard = shards.open(msg[1])
                if kind == "rows":
                    shard.add(msg[2], msg[3])
                else:
                    block: Block = msg[2]
                    shard.add_columns(block.table, block.lists(vocab.current()))
            elif kind == "close":
                if shard is None:
                    shard = shards.open(msg[1])
                shard.close()
                shard = None
                replies.send(("closed", msg[1]))
            elif kind == "stop":
                replies.send(("stopped",))
                return
    except BaseException:
        replies.send(("error", traceback.format_exc()))
