"""REST API v1: a CSV file geocoded or reverse geocoded over HTTP, answered as the same CSV with result columns.

``POST /v1/geocode/csv`` and ``POST /v1/reverse/csv`` take a multipart upload (see :mod:`jinef.api.csv_upload`)
and stream the file back, row by row in input order, with the columns `jinef geocode FILE` / `jinef reverse FILE`
append (:mod:`jinef.read.geocode.address_rows`, :mod:`jinef.read.geo.point_rows`: the same function, so the same
values). A row that cannot be answered gets its reason in the ``reason`` column and the rest carry on. Each row
costs one item of the organisation's quota, charged before the first row goes out (a 429 refuses the whole file).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile
from starlette.responses import StreamingResponse

from jinef.api.csv_upload import DATA_FIELD, ENCODING_CHOICES, CsvUpload, check_upload, read_upload, upload_error
from jinef.api.deps import ApiError, RequestContext, ServiceState, charge_items, context, require_scope, service
from jinef.api.schemas import MAX_RADIUS_M, ErrorResponse
from jinef.api.servicedb import Principal
from jinef.common.input_encoding import PERSIAN_TEXT
from jinef.common.messages import message
from jinef.read.geo.coords import parse_coordinate
from jinef.read.geo.point_rows import RESULT_COLUMNS as REVERSE_COLUMNS
from jinef.read.geo.point_rows import reverse_cells
from jinef.read.geo.reverse import DEFAULT_RADIUS_M
from jinef.read.geocode.address_rows import RESULT_COLUMNS as GEOCODE_COLUMNS
from jinef.read.geocode.address_rows import geocode_cells

router = APIRouter()

GEOCODE_PATH = "/v1/geocode/csv"
REVERSE_PATH = "/v1/reverse/csv"
UPLOAD_PATHS = frozenset({GEOCODE_PATH, REVERSE_PATH})  # bodies bounded by the upload limit, not the JSON one
GEOCODE_CHUNK = 256  # rows geocoded between two writes: about a second's work at most
REVERSE_CHUNK = 5000  # reverse geocoding is vectorised: larger chunks cost no latency
COLUMN_JOIN = "، "  # several address columns are read as one address, parts separated as Persians write them
# Errors are JSON, whatever the answer's own type (FastAPI would document them as the route's, text/csv).
_ERRORS = {str(code): {"description": what, "content": {"application/json": {
    "schema": {"$ref": f"#/components/schemas/{ErrorResponse.__name__}"}}}}
    for code, what in ((400, "The file cannot be read: what is wrong and where (byte, line, column)"),
                       (401, "No key, or not a valid one"), (403, "The key lacks the scope"),
                       (413, "The upload is over JINEF_MAX_UPLOAD bytes"), (429, "Over the organisation's quota"))}


class CsvResponse(StreamingResponse):
    """A CSV answer written as its rows are done."""

    media_type = "text/csv"


def _openapi(fields: dict[str, Any], example: str, answer: str) -> dict[str, Any]:
    """The multipart request body and the CSV answer, for the OpenAPI document (read by hand, not by FastAPI)."""
    common = {
        DATA_FIELD: {"type": "string", "format": "binary", "description": "The CSV file, its first line the header"},
        "encoding": {"type": "string", "description": "The file's encoding (default: detected — UTF-8 with or "
                                                      "without BOM, UTF-16, Windows-1256)", "example": "cp1256"},
        "delimiter": {"type": "string", "enum": [",", ";", "|", "tab"], "default": ","},
        "with_bom": {"type": "boolean", "default": False,
                     "description": "Start the answer with a UTF-8 byte order mark (for Excel)"},
    }
    return {
        "requestBody": {"required": True, "content": {"multipart/form-data": {
            "schema": {"type": "object", "required": [DATA_FIELD], "properties": {**common, **fields}},
            "example": {DATA_FIELD: example}}}},
        "responses": {"200": {"description": "The file with the result columns, streamed as rows are done "
                                             "(header x-jinef-rows: the number of data rows)",
                              "content": {"text/csv": {"schema": {"type": "string"}, "example": answer}}},
                      **_ERRORS},
    }


_GEOCODE_DOC = _openapi(
    {"columns": {"type": "array", "items": {"type": "string"}, "default": ["address"],
                 "description": "The address column; repeat the field to read several columns as one address"}},
    "id,address\n1,تهران، خیابان آزادی، پلاک ۱۲\n",
    "id,address,postcode,match_level,confidence,lat,lon,matched_address,reason\n"
    "1,تهران، خیابان آزادی، پلاک ۱۲,,thoroughfare,0.6120,35.7000000,51.3900000,تهران، خیابان آزادی,\n")
_REVERSE_DOC = _openapi(
    {"lat_column": {"type": "string", "default": "lat"}, "lon_column": {"type": "string", "default": "lon"},
     "radius_m": {"type": "number", "default": DEFAULT_RADIUS_M, "exclusiveMinimum": 0, "maximum": MAX_RADIUS_M,
                  "description": "Search radius in metres"}},
    "id,lat,lon\n1,35.7,51.4\n2,۳۵٫۷,abc\n",
    "id,lat,lon,postcode,distance_m,province,county,plus_code,reason\n"
    "1,35.7,51.4,1345678901,12.5,تهران,تهران,8GQGP9C2+22,\n2,۳۵٫۷,abc,,,,,,unparseable_lon\n")


@router.post(GEOCODE_PATH, tags=["geocode"], response_class=CsvResponse,
             openapi_extra=_GEOCODE_DOC,
             summary="A CSV of typed addresses → the same CSV with postcode, match level, confidence and location "
                     "(each row counts against the quota)")
async def geocode_csv(request: Request, principal: Principal = require_scope("geocode")) -> CsvResponse:
    """Geocode every row's address column(s), as `jinef geocode FILE` does; rows streamed back in input order."""
    ctx = context(request)
    ctx.endpoint = GEOCODE_PATH
    state = service(request)
    file, params = await read_upload(request)
    columns = params.get("columns") or ["address"]

    def readable(cells: list[str]) -> bool:
        return any(PERSIAN_TEXT.search(c) for c in cells)

    upload = await _checked(file, params, columns, readable)
    if upload.rows and not upload.readable:
        upload.close()
        raise upload_error("unreadable_column", message("upload.no_persian_text", columns=columns,
                                                        encoding=upload.encoding, choices=ENCODING_CHOICES),
                           columns=columns)
    _charge(state, principal, upload)
    geocoder = await state.geocoder.aget(state.registry.get())
    indexes = [upload.header.index(c) for c in columns]

    def answer(rows: list[list[str]]) -> tuple[list[list[str]], int]:
        texts = [COLUMN_JOIN.join(_cell(row, i) for i in indexes if _cell(row, i)) for row in rows]
        cells = geocode_cells(geocoder, texts)
        return cells, sum(1 for c in cells if c[1] != "none")

    return _stream(upload, ctx, GEOCODE_COLUMNS, GEOCODE_CHUNK, answer, ".geocoded.csv")


@router.post(REVERSE_PATH, tags=["reverse"], response_class=CsvResponse,
             openapi_extra=_REVERSE_DOC,
             summary="A CSV of points → the same CSV with the nearest building's postcode, distance, province, "
                     "county and Plus Code (each row counts against the quota)")
async def reverse_csv(request: Request, principal: Principal = require_scope("reverse")) -> CsvResponse:
    """Reverse geocode every row's point, as `jinef reverse FILE` does; rows streamed back in input order."""
    ctx = context(request)
    ctx.endpoint = REVERSE_PATH
    state = service(request)
    file, params = await read_upload(request)
    lat_column = (params.get("lat_column") or ["lat"])[-1]
    lon_column = (params.get("lon_column") or ["lon"])[-1]
    try:
        radius_m = _radius((params.get("radius_m") or [""])[-1])
    except ApiError:
        await file.close()
        raise

    def readable(cells: list[str]) -> bool:
        return parse_coordinate(cells[0]) is not None and parse_coordinate(cells[1]) is not None

    upload = await _checked(file, params, [lat_column, lon_column], readable)
    if upload.rows and not upload.readable:
        upload.close()
        raise upload_error("unreadable_column", message("upload.no_point", lat_column=lat_column,
                                                        lon_column=lon_column, encoding=upload.encoding),
                           columns=[lat_column, lon_column])
    _charge(state, principal, upload)
    registry = state.registry.get()
    geocoder = await state.reverse.aget(registry)
    ilat, ilon = upload.header.index(lat_column), upload.header.index(lon_column)

    def answer(rows: list[list[str]]) -> tuple[list[list[str]], int]:
        cells, statuses = reverse_cells(geocoder, registry.source.get_many, rows, ilat, ilon, radius_m)
        return cells, sum(1 for s in statuses if s == "ok")

    return _stream(upload, ctx, REVERSE_COLUMNS, REVERSE_CHUNK, answer, ".reversed.csv")


async def _checked(file: UploadFile, params: dict[str, list[str]], columns: list[str],
                   probe: Callable[[list[str]], bool]) -> CsvUpload:
    """The upload checked and counted in a thread (it reads the whole file); closed when refused."""
    try:
        upload = await asyncio.to_thread(check_upload, file, params, columns, probe)
    except BaseException:
        await file.close()
        raise
    return upload


def _charge(state: ServiceState, principal: Principal, upload: CsvUpload) -> None:
    """One quota item per data row (the key check took one), as a batch is charged; refused whole when over."""
    try:
        charge_items(state, principal, upload.rows)
    except BaseException:
        upload.close()
        raise


def _stream(upload: CsvUpload, ctx: RequestContext, columns: tuple[str, ...], size: int,
            answer: Callable[[list[list[str]]], tuple[list[list[str]], int]], suffix: str) -> CsvResponse:
    """The answer: the header with the result columns, then each chunk of rows as soon as it is done."""
    bom = (upload.param("with_bom") or "").lower() in ("1", "true", "yes", "on")
    chunks = upload.chunks(size)
    found = 0

    def next_chunk() -> bytes | None:
        nonlocal found
        rows = next(chunks, None)
        if rows is None:
            return None
        cells, hits = answer(rows)
        found += hits
        ctx.items += len(rows)  # the audit record (written when the stream ends) counts the rows answered
        return upload.csv_bytes([[*row, *out] for row, out in zip(rows, cells, strict=True)])

    async def body() -> AsyncIterator[bytes]:
        try:
            yield upload.csv_bytes([[*upload.header, *columns]], bom=bom)
            while (data := await asyncio.to_thread(next_chunk)) is not None:
                yield data
            ctx.outcome = "ok" if found == upload.rows else ("not_found" if not found else "partial")
        finally:
            upload.close()

    headers = {"content-disposition": upload.content_disposition(suffix), "x-jinef-rows": str(upload.rows)}
    return CsvResponse(body(), media_type="text/csv; charset=utf-8", headers=headers)


def _cell(row: list[str], index: int) -> str:
    return row[index] if index < len(row) else ""


def _radius(text: str) -> float:
    if text == "":
        return DEFAULT_RADIUS_M
    value = parse_coordinate(text)  # any digit form, as the coordinates
    if value is None or not math.isfinite(value) or not 0 < value <= MAX_RADIUS_M:
        raise upload_error("invalid_radius", message("upload.invalid_radius", limit=f"{MAX_RADIUS_M:g}", value=text),
                           field="radius_m")
    return value
