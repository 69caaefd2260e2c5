"""Import a real address file (the export's columns) into a registry, checking every row.

The postal company loads its own records: buildings, thoroughfares and localities are derived
from the rows, and divisions are matched to the real ones by normalised name. A bad row stops
the import with its row number, field and rule, leaving the registry untouched, unless the
caller asks to skip bad rows (each is then reported with its reason).

The file is read in batches of columns (:mod:`jinef.write.ingest.import_reader`), checked column-wise
(:mod:`jinef.write.ingest.import_checks`) and loaded with bulk writes (:mod:`jinef.write.ingest.import_loader`).
Memory grows only with what the file has distinct (names, plus 8 bytes per postcode and 24 per
building and thoroughfare), never with a batch's rows beyond one batch.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from jinef.common.background import prefetched
from jinef.common.csv_safety import neutralise_row
from jinef.common.messages import Message, MessageError, message
from jinef.model.address import EXPORT_COLUMNS
from jinef.write.ingest.import_checks import Checker, split_thoroughfare
from jinef.write.ingest.import_errors import RowError
from jinef.write.ingest.import_loader import Loader
from jinef.write.ingest.import_reader import FileError, HeaderError, guess_format, read_batches
from jinef.write.ingest.import_sink import DirectSink, open_sink
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.store.base import RegistryWriter
from jinef.write.store.replace_guard import ReplaceRefused, ShrinkGuard

# After the row's own columns: where and why it was refused (reason_fa, the Persian reason, was added last so that
# readers of the English columns by position are not disturbed).
REJECT_COLUMNS = ("row", "field", "rule", "reason", "reason_fa")

__all__ = ["ImportError_", "ImportRefused", "ImportSummary", "RowError", "import_file", "split_thoroughfare",
           "write_rejects"]


class ImportError_(MessageError):
    """An import refused; nothing was written."""

    def __init__(self, path: Path, error: RowError) -> None:
        self.error = error
        super().__init__(message("import.refused", path=str(path), error=error.described()))


@dataclass
class ImportSummary:
    """What an import did."""

    rows: int = 0
    loaded: int = 0
    rejected: int = 0
    rejects: list[tuple[dict[str, str], RowError]] = field(default_factory=list)


class ImportRefused(ReplaceRefused):
    """A replacing import its guard refused (it would load nothing, or shrink the registry too much)."""

    def __init__(self, text: Message, summary: ImportSummary) -> None:
        self.summary = summary  # the rows read and rejected, for the rejects file
        super().__init__(text)


def import_file(
    path: Path,
    writer: RegistryWriter,
    divisions: Divisions,
    boundaries: Boundaries,
    fmt: Literal["csv", "jsonl"] | None = None,
    append: bool = False,
    skip_bad: bool = False,
    progress: Callable[[int], None] | None = None,
    encoding: str | None = None,
    guard: ShrinkGuard | None = None,
) -> ImportSummary:
    """Check and load every row of ``path`` into ``writer`` (the caller commits or aborts).

    ``fmt`` None guesses the format from the file's extension, ``encoding`` None detects it; ``guard`` (for a
    replacing import) refuses a registry that would come out empty or too much smaller than the current one.
    """
    fmt = fmt or guess_format(path)
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown format {fmt!r} (csv or jsonl)")
    checker = Checker(divisions, boundaries, writer if append else None)
    loader = Loader(writer, divisions, checker, append, DirectSink(writer, checker.texts.values))
    # A SQLite registry being replaced gets its rows through a forked process writing shards (the divisions
    # went in directly, above); appends check registered postcodes on the writer's own connection.
    sink = loader.sink = open_sink(writer, checker.texts.values, append)
    summary = ImportSummary()
    done = False
    try:
        for batch in prefetched(read_batches(path, fmt, with_address=skip_bad, encoding=encoding),
                                name="import-read"):
            checked = checker.check(batch)
            bad = np.flatnonzero(checked.err)
            if len(bad) and not skip_bad:
                raise ImportError_(path, checker.error(batch, checked, int(bad[0])))
            for i in bad.tolist():
                summary.rejects.append((batch.raw_row(i), checker.error(batch, checked, i)))
            loader.load(checked, np.flatnonzero(checked.err == 0))
            summary.rows += len(batch)
            summary.rejected += len(bad)
            summary.loaded += len(batch) - len(bad)
            if progress:
                progress(len(batch))
        sink.close()
        done = True
    except HeaderError as exc:
        raise ImportError_(path, RowError(0, "header", exc.rule, exc.text)) from None
    except FileError as exc:
        raise ImportError_(path, RowError(exc.row, "*", exc.rule, exc.text)) from None
    finally:
        if not done:
            sink.abort()
    if guard is not None and not append:
        try:
            guard.check(summary.loaded)
        except ReplaceRefused as exc:
            raise ImportRefused(exc.text, summary) from None
    writer.add("meta", [("source", "imported"), ("imported_from", path.name)])
    return summary


def write_rejects(rejects: list[tuple[dict[str, str], RowError]], out: Path) -> None:
    """Each rejected row with its original fields and the reason (row, field, rule, reason in English and in
    Persian)."""
    with out.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow([*EXPORT_COLUMNS, *REJECT_COLUMNS])
        for r, e in rejects:
            w.writerow(neutralise_row([*(r.get(c, "") for c in EXPORT_COLUMNS), e.row, e.field, e.rule, e.message,
                                       e.text("fa")]))
