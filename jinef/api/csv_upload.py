"""A CSV file uploaded over HTTP: read from a multipart form, checked whole, then handed out in chunks of rows.

The interface follows Addok's ``/search/csv`` (a multipart form whose file field is ``data``; ``encoding``,
``delimiter`` and ``with_bom`` fields), so a client written for Addok needs only Jinef's URL and key. Every field
may also be given as a query parameter (the form's value wins).

The file is read twice: once here, before anything is answered, so that an undecodable file, a broken CSV line or a
missing column is a 400 naming the byte, line or column, and the rows are counted (the quota is charged one item
per row, as a batch is); then a chunk at a time while the answer streams out.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, Any
from urllib.parse import quote

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from jinef.api.deps import ApiError
from jinef.common.csv_safety import neutralise_row
from jinef.common.input_encoding import detect_stream_encoding
from jinef.common.messages import Message, message

DATA_FIELD = "data"  # Addok's name for the file field
ENCODING_CHOICES = ["utf-8", "utf-16", "cp1256"]  # what refusals suggest: the encodings Persian files come in
# Delimiters a spreadsheet writes (``tab`` spelled out: a tab is awkward to type in a form field).
DELIMITERS = {",": ",", ";": ";", "|": "|", "\t": "\t", "tab": "\t"}
_READ = 1 << 20
# Text encodings an address file comes in. Not any Python codec: some decode to text that is not Unicode
# (``unicode_escape`` gives lone surrogates) or fail part way in ways a strict text decoder does not.
ENCODINGS = frozenset(codecs.lookup(n).name for n in (
    "utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1256", "iso8859-6", "cp720", "cp864", "mac-arabic",
    "mac-farsi", "ascii", "latin-1", "cp1252"))


def upload_error(code: str, text: Message, **details: Any) -> ApiError:
    """A 400 about the uploaded file (what is wrong and where: byte, line, column)."""
    return ApiError(400, code, text, details=details or None)


@dataclass
class CsvUpload:
    """A checked upload: its header, data rows counted, and how to read it again."""

    file: IO[bytes]
    filename: str
    encoding: str
    delimiter: str
    header: list[str]
    rows: int = 0
    readable: int = 0  # rows whose input cells the caller's probe could read
    params: dict[str, list[str]] = field(default_factory=dict)

    def chunks(self, size: int) -> Iterator[list[list[str]]]:
        """The data rows from the start of the file, ``size`` at a time (run in a thread: reads the file)."""
        reader = _reader(self.file, self.encoding, self.delimiter)
        next(reader, None)  # the header
        while chunk := list(islice(reader, size)):
            yield chunk

    def csv_bytes(self, rows: list[list[str]], bom: bool = False) -> bytes:
        """``rows`` as CSV lines in UTF-8, with this file's delimiter, every cell neutralised against formulas."""
        out = io.StringIO()
        if bom:
            out.write("\ufeff")  # Excel reads a UTF-8 CSV as UTF-8 only with the mark
        writer = csv.writer(out, delimiter=self.delimiter)
        for row in rows:
            writer.writerow(neutralise_row(row))
        return out.getvalue().encode("utf-8")

    def content_disposition(self, suffix: str) -> str:
        """``attachment`` with the upload's name and ``suffix`` (``.geocoded.csv``), safe for any name."""
        stem = self.filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
        stem = stem[:-4] if stem.lower().endswith(".csv") else stem
        name = (stem or "data") + suffix
        ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
        return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of a form field or query parameter, else ``default``."""
        values = self.params.get(name)
        return values[-1] if values else default

    def close(self) -> None:
        """Drop the spooled file."""
        self.file.close()


async def read_upload(request: Request) -> tuple[UploadFile, dict[str, list[str]]]:
    """The uploaded file and the other fields (query parameters first, the form's values after them)."""
    try:
        form: FormData = await request.form(max_files=1, max_fields=32)
    except StarletteHTTPException as exc:
        if exc.status_code != 400:
            raise  # the upload is over the size limit: the middleware's 413
        raise upload_error("invalid_upload", message("upload.invalid_form", detail=str(exc.detail))) from None
    file = form.get(DATA_FIELD)
    if not isinstance(file, UploadFile):
        await form.close()
        raise upload_error("missing_file", message("upload.missing_file", field=DATA_FIELD), field=DATA_FIELD)
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    for key, item in form.multi_items():
        if isinstance(item, str):
            params.setdefault(key, []).append(item)
    return file, params


def check_upload(file: UploadFile, params: dict[str, list[str]], columns: list[str],
                 probe: Callable[[list[str]], bool]) -> CsvUpload:
    """The upload checked whole (encoding, CSV, header) and its data rows counted.

    ``probe`` is given each row's cells of ``columns`` and says whether they can be read at all (Persian text, a
    number); the caller refuses a file where none can. Runs in a thread: it reads the whole file.
    """
    raw = file.file
    upload = CsvUpload(raw, file.filename or "", "", ",", [], params=params)
    upload.delimiter = _delimiter(upload.param("delimiter"))
    given = upload.param("encoding")
    raw.seek(0)
    upload.encoding = _encoding(given) if given else detect_stream_encoding(raw)
    _check_decodes(raw, upload.encoding)
    reader = _reader(raw, upload.encoding, upload.delimiter)
    try:
        header = next(reader, None)
        if not header:
            raise upload_error("empty_file", message("upload.empty_file"))
        missing = [c for c in columns if c not in header]
        if missing:
            shown = "tab" if upload.delimiter == "\t" else upload.delimiter
            raise upload_error("missing_column", message("upload.missing_column", header=header, delimiter=shown,
                                                         columns=[f"'{c}'" for c in missing]),
                               columns=missing, header=header)
        upload.header = header
        indexes = [header.index(c) for c in columns]
        for row in reader:
            upload.rows += 1
            if probe([row[i] if i < len(row) else "" for i in indexes]):
                upload.readable += 1
    except csv.Error as exc:
        raise upload_error("invalid_csv", message("upload.invalid_csv", line=reader.line_num, reason=str(exc)),
                           line=reader.line_num) from None
    return upload


def _reader(raw: IO[bytes], encoding: str, delimiter: str) -> Any:
    """A csv reader over the file from its start (NUL bytes dropped, as `jinef geocode` does)."""
    raw.seek(0)
    text = io.TextIOWrapper(io.BufferedReader(_Unclosed(raw)), encoding=encoding, newline="")
    return csv.reader((line.replace("\x00", "") for line in text), delimiter=delimiter)


class _Unclosed(io.RawIOBase):
    """Reads the upload; closing it (as a text wrapper does when it goes) leaves the upload open for the next pass."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw

    def readable(self) -> bool:
        """Always: it only reads."""
        return True

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` from the upload; the count of bytes read (0 at the end)."""
        data = self.raw.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _delimiter(value: str | None) -> str:
    if value is None or value == "":
        return ","
    if value not in DELIMITERS:
        raise upload_error("invalid_delimiter", message("upload.invalid_delimiter", value=value), field="delimiter")
    return DELIMITERS[value]


def _encoding(name: str) -> str:
    try:
        codec = codecs.lookup(name).name
    except (LookupError, ValueError):  # ValueError: a name with a NUL in it
        codec = ""
    if codec not in ENCODINGS:
        raise upload_error("unknown_encoding", message("upload.unknown_encoding", name=name, choices=ENCODING_CHOICES),
                           field="encoding")
    return codec


def _check_decodes(raw: IO[bytes], encoding: str) -> None:
    """A 400 naming the byte and line where the file stops being ``encoding`` (usually the wrong one)."""
    raw.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    lines = 1
    while True:
        chunk = raw.read(_READ)
        try:
            text = decoder.decode(chunk, final=not chunk)
        except UnicodeDecodeError as exc:
            at = max(offset + exc.start, 0)
            lines += chunk[:max(exc.start, 0)].decode(encoding, "ignore").count("\n")
            raise upload_error("undecodable_file", message("upload.undecodable", encoding=encoding, byte=at,
                                                           line=lines, choices=ENCODING_CHOICES),
                               encoding=encoding, byte=at, line=lines) from None
        lines += text.count("\n")
        offset += len(chunk)
        if not chunk:
            return
