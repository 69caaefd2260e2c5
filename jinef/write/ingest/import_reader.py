"""An address file read in batches of columns: pyarrow parses CSV in C++, Python parses what it cannot.

Every batch holds the file's fields as text, a row per data row in file order, so the checks can
work column-wise and still name each bad row. pyarrow reads a well-formed CSV file; at the first
sign of a file it could read differently from Python's csv module (a row with the wrong number of
fields, an empty line, a quote left inside a value, text that is not UTF-8) the rest of the file,
from the first row not yet handed out, is read by the csv module itself, as the importer always did.
JSON Lines are parsed line by line (orjson, and json for what orjson refuses, so that the messages
stay json's).

The file's encoding is detected (:mod:`jinef.common.input_encoding`: UTF-8 with or without a BOM, UTF-16,
Windows-1256) or given; text of a Windows-1256 file has its Arabic yeh and kaf made Persian, as the code
page has no Persian yeh and Windows writes the Arabic one in its place. What the file itself gets wrong (no
header, a wrong one, text that stops decoding, a field the csv module will not read) is a :class:`FileError`.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from jinef.common.csv_safety import QUOTE, restore_row
from jinef.common.input_encoding import detect_encoding
from jinef.common.messages import Message, MessageError, message
from jinef.model.address import EXPORT_COLUMNS
from jinef.text.letters import ARABIC_TO_PERSIAN

# Columns the checks read; the address is derived, so it is only kept to write rejected rows back.
FIELDS = tuple(c for c in EXPORT_COLUMNS if c != "address")
# pyarrow reads up to 32 blocks ahead of the parser (its background reader's queue), so blocks are kept
# small and several are joined into one batch: 128 MB read ahead at most, batches of ~64k rows.
_BLOCK_BYTES = 4 << 20
_BATCH_ROWS = 65_536
_PY_BATCH_ROWS = 50_000
# The csv module refuses a field over 128 KB with an error that ends the file; a longer field is read so that
# the checks refuse its row (a field this long is no address: see import_checks.MAX_FIELD_CHARS).
_CSV_FIELD_LIMIT = 64 << 20
_UTF8 = ("utf-8", "utf-8-sig")
# Letters Windows-1256 writes for Persian ones it lacks (or that old tools chose): made Persian when read.
_CP1256_FOLD = {c: ARABIC_TO_PERSIAN[c] for c in ("ي", "ك")}


class FileError(MessageError):
    """What is wrong with the file as a whole (not one row): no header, a wrong one, text that will not decode."""

    def __init__(self, rule: str, text: Message, row: int = 0) -> None:
        self.rule = rule
        self.row = row  # the data row where reading stopped; 0 for the header or the file as a whole
        super().__init__(text)


class HeaderError(FileError):
    """The file's header is missing or is not the export's."""


def guess_format(path: Path) -> Literal["csv", "jsonl"]:
    """``jsonl`` for a ``.jsonl`` or ``.ndjson`` file, else ``csv`` (the export's default)."""
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


@dataclass
class Batch:
    """Consecutive data rows of the file, as text columns."""

    first_row: int  # data row number of the first row (1 = line 2 of a CSV file)
    columns: dict[str, pa.Array]  # every FIELDS column (and "address" when asked for), "" for a missing value
    malformed: dict[int, Message] = field(default_factory=dict)  # position → what is wrong with the row

    def __len__(self) -> int:
        return len(self.columns["postcode"])

    def raw_row(self, i: int) -> dict[str, str]:
        """Row ``i`` as the reference reader gives it (for the rejects file)."""
        if i in self.malformed:
            return {"__error__": self.malformed[i].text("en")}
        return {c: a[i].as_py() for c, a in self.columns.items()}


def read_batches(path: Path, fmt: Literal["csv", "jsonl"], with_address: bool = False,
                 encoding: str | None = None) -> Iterator[Batch]:
    """The data rows of ``path`` in batches, in file order; the header is checked first.

    ``encoding`` is a Python codec name; None detects it from the file's bytes.
    """
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown format {fmt!r} (csv or jsonl)")
    enc = encoding or detect_encoding(path)
    batches = _csv_batches(path, with_address, enc) if fmt == "csv" else _jsonl_batches(path, with_address, enc)
    fold = codecs.lookup(enc).name == "cp1256"
    try:
        for batch in batches:
            yield _folded(batch) if fold else batch
    except UnicodeDecodeError as exc:
        raise FileError("not_text", message("import.file.not_text", encoding=enc, reason=exc.reason,
                                            byte=exc.start, choices=("utf-8", "utf-16"), last="cp1256")) from None


def _folded(batch: Batch) -> Batch:
    for name, a in batch.columns.items():
        for arabic, persian in _CP1256_FOLD.items():
            a = pc.replace_substring(a, arabic, persian)
        batch.columns[name] = a
    return batch


def _check_header(path: Path, encoding: str) -> None:
    with path.open(encoding=encoding, newline="") as fh:
        try:
            header = next(csv.reader(fh), None)
        except csv.Error as exc:
            raise HeaderError("wrong_header", message("import.file.not_a_header", detail=str(exc))) from None
    if header is None:
        raise HeaderError("empty_file", message("import.file.empty"))
    if tuple(header) != EXPORT_COLUMNS:
        missing = [c for c in EXPORT_COLUMNS if c not in header]
        extra = [c for c in header if c not in EXPORT_COLUMNS]
        if not missing and not extra:
            raise HeaderError("wrong_header", message("import.file.column_order", expected=str(list(EXPORT_COLUMNS))))
        shown = str([c if len(c) <= 40 else c[:40] + "…" for c in extra[:10]])  # a binary file's "header" is long
        raise HeaderError("wrong_header", message("import.file.wrong_header", missing=str(missing), unexpected=shown)
                          if len(extra) <= 10 else message("import.file.wrong_header_more", missing=str(missing),
                                                           unexpected=shown, more=len(extra) - 10))


def _csv_batches(path: Path, with_address: bool, encoding: str) -> Iterator[Batch]:
    _check_header(path, encoding)
    names = [*FIELDS, "address"] if with_address else list(FIELDS)
    row = 1  # the first row not yet handed out
    pending: list[dict[str, pa.Array]] = []

    def joined() -> Batch:
        columns = {c: pa.concat_arrays([p[c] for p in pending]) for c in names}
        batch = Batch(row, columns)
        pending.clear()
        return batch

    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES, skip_rows=1, column_names=list(EXPORT_COLUMNS),
                                           encoding="utf8" if encoding in _UTF8 else encoding),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(EXPORT_COLUMNS, pa.string()),
                                                 include_columns=names, strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False))
        for record_batch in reader:
            columns = {c: _restored(record_batch.column(c)) for c in names}
            if _odd(columns):
                break
            pending.append(columns)
            if sum(len(p["postcode"]) for p in pending) >= _BATCH_ROWS:
                batch = joined()
                yield batch
                row += len(batch)
        else:
            if pending:
                yield joined()
            return
    except pa.ArrowInvalid:
        pass  # a row with the wrong number of fields, text that is not UTF-8: the csv module reads from here
    if pending:  # rows read well before the odd ones
        batch = joined()
        yield batch
        row += len(batch)
    yield from _python_csv_batches(path, row, with_address, encoding)


def _restored(a: pa.Array) -> pa.Array:
    """Cells Jinef's CSV writers neutralised against formula injection, as written (one leading quote dropped)."""
    quoted = pc.starts_with(a, QUOTE)
    if not pc.any(quoted).as_py():
        return a
    return pc.if_else(quoted, pc.utf8_slice_codeunits(a, 1), a)


def _odd(columns: dict[str, pa.Array]) -> bool:
    """True when pyarrow's reading of these rows might differ from the csv module's."""
    for a in columns.values():
        buffer = a.buffers()[2]
        data = b"" if buffer is None else buffer.to_pybytes()
        if b'"' in data:  # the two parsers agree on plain quoting; a quote left in a value may be anything else
            return True
    # A row of empty fields may be an empty line, which the csv module reads as a row of no fields.
    empty = pc.equal(pc.binary_length(columns["postcode"]), 0)
    if not pc.any(empty).as_py():
        return False
    for a in columns.values():
        empty = pc.and_(empty, pc.equal(pc.binary_length(a), 0))
    return bool(pc.any(empty).as_py())


def _python_csv_batches(path: Path, first_row: int, with_address: bool, encoding: str) -> Iterator[Batch]:
    """Rows from ``first_row`` on, read by the csv module (the reference reading)."""
    if csv.field_size_limit() < _CSV_FIELD_LIMIT:
        csv.field_size_limit(_CSV_FIELD_LIMIT)
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        try:
            next(reader, None)  # the header, checked already
            for _ in islice(reader, first_row - 1):
                pass
            yield from _batched_rows(_csv_values(reader), first_row, with_address)
        except csv.Error as exc:  # the csv module stops at such a row: the rest of the file cannot be read
            raise FileError("malformed_file", message("import.file.not_csv", line=reader.line_num, detail=str(exc)),
                            row=max(reader.line_num - 1, 1)) from None


def _csv_values(reader: Any) -> Iterator[list[str] | Message]:
    width = len(EXPORT_COLUMNS)
    for values in reader:
        # Cells Jinef's CSV writers neutralised against formula injection come back as written.
        yield restore_row(values) if len(values) == width else \
            message("import.malformed.field_count", count=len(values), expected=width)


def _jsonl_batches(path: Path, with_address: bool, encoding: str) -> Iterator[Batch]:
    with path.open(encoding=encoding) as fh:
        yield from _batched_rows((_json_values(line) for line in fh), 1, with_address)


def _json_values(line: str) -> list[str] | Message:
    """The export's fields of one JSON line as text, or what is wrong with it."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        try:  # json accepts a few things orjson does not (NaN, lone surrogates, huge integers)
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            return message("import.malformed.not_json", detail=exc.msg)
        except RecursionError:  # what orjson refuses as nested too deeply, json recurses into until it fails
            return message("import.malformed.too_deep")
    if not isinstance(obj, dict) or set(obj) != set(EXPORT_COLUMNS):
        return message("import.malformed.not_an_object")
    nested = [k for k in EXPORT_COLUMNS if isinstance(obj[k], (dict, list, bool))]
    if nested:
        return message("import.malformed.nested_field", field=nested[0])
    return ["" if obj[k] is None else str(obj[k]) for k in EXPORT_COLUMNS]


def _batched_rows(rows: Iterator[list[str] | Message], first_row: int, with_address: bool) -> Iterator[Batch]:
    """Batches from rows given as their values, or as what is wrong with them."""
    names = [*FIELDS, "address"] if with_address else list(FIELDS)
    positions = [EXPORT_COLUMNS.index(c) for c in names]
    while True:
        chunk = list(islice(rows, _PY_BATCH_ROWS))
        if not chunk:
            return
        malformed = {i: r for i, r in enumerate(chunk) if isinstance(r, Message)}
        blank = [""] * len(EXPORT_COLUMNS)
        table = list(zip(*(blank if isinstance(r, Message) else r for r in chunk), strict=True))
        yield Batch(first_row, {c: pa.array(table[p], type=pa.string()) for c, p in zip(names, positions,
                                                                                       strict=True)}, malformed)
        first_row += len(chunk)
