"""CSV files geocoded over HTTP: the CLI's rows, streamed, quota per row, audit, and every refusal a clear 4xx."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from jinef.api.app import create_app
from jinef.api.routers.csv_files import REVERSE_CHUNK
from jinef.api.servicedb import open_store
from jinef.cli.main import app as cli
from jinef.model.address import Address
from jinef.model.digits import to_latin_digits
from jinef.read.registry.registry import Registry

Api = tuple[TestClient, dict[str, str], Path]
# Rows no geocoder can answer, each for its own reason; the rest of the file must carry on past them.
BAD_ADDRESSES = ["", "only latin text", "abc\x01\x02\x03\x04def", "=HYPERLINK(\"http://x\")", "ا" * 5000]
POINTS = [("1", "35.7", "51.4"), ("2", "۳۵٫۷", "۵۱٫۴"), ("3", "abc", "51"), ("4", "95", "51"),
          ("5", "26.9", "51.6"), ("6", "35.70", "")]


@pytest.fixture(scope="module")
def api(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """One app for the module (the geocoder is made once), keys by scope, and the service database."""
    service_db = tmp_path_factory.mktemp("csvsvc") / "svc.sqlite"
    store = open_store(service_db)
    keys = {"geocode": store.create_key("shop", ["geocode", "reverse"], None)[1],
            "lookup": store.create_key("bank", ["lookup"], None)[1],
            "metered": store.create_key("metered", ["geocode"], 3.0)[1]}
    store.close()
    with TestClient(create_app(small_registry, service_db, key_cache_ttl=0), raise_server_exceptions=False) as c:
        yield c, keys, service_db


@pytest.fixture(scope="module")
def addresses(small_registry: Path) -> list[Address]:
    """Units of cities, spread over the registry."""
    with Registry.open(small_registry) as reg:
        found = [a for a in reg.addresses() if a.locality_type == "شهر"]
    return found[:: max(1, len(found) // 12)][:12]


def _csv(rows: list[list[str]] | list[tuple[str, ...]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding)


def _rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


def _post(c: TestClient, path: str, body: bytes, key: str, **fields: Any) -> Any:
    return c.post(path, files={"data": ("customers.csv", body, "text/csv")}, data=fields, headers={"X-API-Key": key})


def _address_file(addresses: list[Address]) -> list[list[str]]:
    rows = [["id", "address"]] + [[f"g{i}", a.standard_address] for i, a in enumerate(addresses)]
    return rows + [[f"b{i}", text] for i, text in enumerate(BAD_ADDRESSES)]


def test_geocode_csv_gives_the_rows_of_the_cli(api: Api, addresses: list[Address], small_registry: Path,
                                                tmp_path: Path) -> None:
    c, keys, _ = api
    body = _csv(_address_file(addresses))
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(body)
    run = CliRunner().invoke(cli, ["geocode", str(src), "-o", str(dst), "--db", str(small_registry), "--workers", "1"])
    assert run.exit_code == 1, run.output  # the CLI's convention: some rows matched nothing
    r = _post(c, "/v1/geocode/csv", body, keys["geocode"])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["x-jinef-rows"] == str(len(addresses) + len(BAD_ADDRESSES))
    assert 'filename="customers.geocoded.csv"' in r.headers["content-disposition"]
    rows = _rows(r.text)
    assert rows == _rows(dst.read_text(encoding="utf-8"))  # the same columns and values as `jinef geocode FILE`
    assert rows[0] == ["id", "address", "postcode", "match_level", "confidence", "lat", "lon", "matched_address",
                       "reason"]
    for row, a in zip(rows[1:], addresses, strict=False):
        assert row[2] == a.postcode and row[3] == "unit"
    bad = rows[1 + len(addresses):]
    assert [row[0] for row in bad] == [f"b{i}" for i in range(len(BAD_ADDRESSES))]
    assert all(row[3] == "none" and row[-1] for row in bad)  # each bad row says why, alone
    assert bad[3][1].startswith("'=")  # an echoed cell never reaches a spreadsheet as a formula


def test_reverse_csv_gives_the_rows_of_the_cli(api: Api, small_registry: Path, tmp_path: Path) -> None:
    c, keys, _ = api
    body = _csv([("id", "y", "x"), *POINTS])
    src, dst = tmp_path / "in.csv", tmp_path / "out.csv"
    src.write_bytes(body)
    run = CliRunner().invoke(cli, ["reverse", str(src), "-o", str(dst), "--lat-column", "y", "--lon-column", "x",
                                   "--radius", "5000", "--db", str(small_registry)])
    assert run.exit_code == 1, run.output  # the CLI's convention: some points are invalid
    r = _post(c, "/v1/reverse/csv", body, keys["geocode"], lat_column="y", lon_column="x", radius_m="5000")
    assert r.status_code == 200, r.text
    rows = _rows(r.text)
    assert rows == _rows(dst.read_text(encoding="utf-8"))
    assert rows[0][3:5] == ["postcode", "standard_address"]
    assert rows[1][6] == "تهران" and rows[1][3] and rows[1][4].startswith("استان تهران") and rows[1][-1] == ""
    assert [row[-1] for row in rows[3:]] == ["unparseable_lat", "lat_out_of_range", "outside_iran",
                                             "unparseable_lon"]


def test_windows_1256_semicolons_and_two_columns(api: Api, addresses: list[Address]) -> None:
    """A file as Excel on a Persian Windows saves it: detected, read with its delimiter, answered in UTF-8."""
    c, keys, _ = api
    a = addresses[0]
    # Windows-1256 has Arabic yeh and no Persian digits: such a file holds «ي» and Latin digits.
    where, street = to_latin_digits(a.standard_address).replace("ی", "ي").split("، ", 1)
    lines = [["id", "city", "street"], ["1", where, street]]
    r = _post(c, "/v1/geocode/csv", _csv(lines, "cp1256", ";"), keys["geocode"], delimiter=";",
              columns=["city", "street"], with_bom="true")
    assert r.status_code == 200, r.text
    assert r.content.startswith("\ufeff".encode())
    rows = _rows(r.content.decode("utf-8-sig"), ";")
    assert rows[1][:3] == lines[1] and rows[1][3] == a.postcode


def test_rows_stream_out_a_chunk_at_a_time(api: Api) -> None:
    """The answer leaves as body messages of a chunk of rows each, the first before the last row is done."""
    c, keys, service_db = api
    n = REVERSE_CHUNK * 2 + 10
    body = _csv([("lat", "lon")] + [(f"{35 + i / n:.5f}", "51.4") for i in range(n)])
    boundary = "jinefboundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"data\"; filename=\"p.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
    messages = c.portal.call(_call, c.app, "/v1/reverse/csv", form, f"multipart/form-data; boundary={boundary}",
                             keys["geocode"])
    start = messages[0]
    assert start["status"] == 200 and b"content-length" not in dict(start["headers"])
    parts = [m["body"] for m in messages[1:] if m["body"]]
    assert [p.count(b"\n") for p in parts] == [1, REVERSE_CHUNK, REVERSE_CHUNK, 10]  # header, then chunk by chunk
    assert all(m.get("more_body") for m in messages[1:-1]) and not messages[-1].get("more_body")
    store = open_store(service_db)
    record = next(r for r in reversed(store.tail_audit(50, org="shop")) if r.endpoint == "/v1/reverse/csv")
    store.close()
    assert (record.items, record.status) == (n, 200)  # audited with its rows, once the stream has ended


async def _call(app: Any, path: str, body: bytes, content_type: str, key: str) -> list[dict[str, Any]]:
    """One request straight to the ASGI app, every message it sends kept (a client would merge them)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"testserver"), (b"content-type", content_type.encode()),
                         (b"content-length", str(len(body)).encode()), (b"x-api-key", key.encode())],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    messages: list[dict[str, Any]] = []
    pieces = [body[i:i + 65536] for i in range(0, len(body), 65536)]

    async def receive() -> dict[str, Any]:
        if pieces:
            return {"type": "http.request", "body": pieces.pop(0), "more_body": bool(pieces)}
        await anyio.sleep_forever()  # a client that stays to read the answer
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    return messages


def test_quota_is_charged_per_row(api: Api, addresses: list[Address]) -> None:
    c, keys, _ = api
    body = _csv(_address_file(addresses[:4]))  # 9 rows against a burst of 3: taken from the full bucket, in debt
    first = _post(c, "/v1/geocode/csv", body, keys["metered"])
    assert first.status_code == 200, first.text
    second = _post(c, "/v1/geocode/csv", body, keys["metered"])
    assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limited"
    assert int(second.headers["Retry-After"]) >= 2  # 9 rows taken at 3 a second: one item would be back in 1 s


@pytest.mark.parametrize(("fields", "body", "code", "words"), [
    ({}, _csv([["id", "adres"], ["1", "تهران"]]), "missing_column", ["'address'", "id, adres"]),
    ({"columns": "adres"}, b"", "empty_file", ["header"]),
    ({"encoding": "utf-8"}, _csv([["address"], ["تهران"], ["خيابان آزادي"]], "cp1256"), "undecodable_file",
     ["utf-8", "byte 9", "line 2", "encoding"]),
    ({"encoding": "unicode_escape"}, _csv([["address"], ["تهران"]]), "unknown_encoding", ["unicode_escape"]),
    ({"encoding": "utf\x008"}, _csv([["address"], ["تهران"]]), "unknown_encoding", ["encoding"]),
    ({"delimiter": "x"}, _csv([["address"], ["تهران"]]), "invalid_delimiter", ["'x'"]),
    ({"encoding": "latin-1"}, _csv([["address"], ["تهران"]]), "unreadable_column", ["Persian", "iso8859-1"]),
])
def test_a_bad_file_is_a_400_saying_what_and_where(api: Api, fields: dict[str, str], body: bytes, code: str,
                                                   words: list[str]) -> None:
    c, keys, _ = api
    r = _post(c, "/v1/geocode/csv", body, keys["geocode"], **fields)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["code"] == code, error
    assert all(w in error["message"] for w in words), error["message"]


def test_refusals_before_the_file_is_read(api: Api) -> None:
    c, keys, _ = api
    body = _csv([["address"], ["تهران"]])
    assert _post(c, "/v1/geocode/csv", body, keys["lookup"]).status_code == 403
    assert _post(c, "/v1/reverse/csv", body, "not-a-key").status_code == 401
    r = c.post("/v1/geocode/csv", content=body, headers={"X-API-Key": keys["geocode"], "Content-Type": "text/csv"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_file" and "'data'" in r.text
    r = _post(c, "/v1/reverse/csv", _csv([["lat", "lon"], ["35.7", "51.4"]]), keys["geocode"], radius_m="-5")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_radius"
    # Asked in Persian, the refusal is in Persian; the names to copy (columns, encoding) stay as written.
    r = c.post("/v1/reverse/csv", files={"data": ("p.csv", _csv([["y", "x"], ["35.7", "51.4"]]), "text/csv")},
               headers={"X-API-Key": keys["geocode"], "Accept-Language": "fa"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "missing_column"
    assert r.json()["error"]["message"].startswith("سرستون‌ها (y، x)") and "'lat'" in r.text


def test_an_upload_over_the_limit_is_a_413(small_registry: Path, tmp_path: Path) -> None:
    store = open_store(tmp_path / "svc.sqlite")
    key = store.create_key("shop", ["geocode"], None)[1]
    store.close()
    body = _csv([["address"]] + [["تهران، خیابان آزادی"]] * 200)
    with TestClient(create_app(small_registry, tmp_path / "svc.sqlite", max_upload=2000)) as c:
        r = _post(c, "/v1/geocode/csv", body, key)  # told by its Content-Length
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large" and "2000" in r.text
        head = b"--b\r\nContent-Disposition: form-data; name=\"data\"; filename=\"a.csv\"\r\n\r\n"
        form = head + body + b"\r\n--b--\r\n"
        r = c.post("/v1/geocode/csv", content=iter([form[:1500], form[1500:]]),  # chunked: counted as it comes
                   headers={"X-API-Key": key, "Content-Type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "body_too_large"
        small = _post(c, "/v1/geocode/csv", _csv([["address"], ["تهران"]]), key)
        assert small.status_code == 200 and len(_rows(small.text)) == 2


def test_a_line_the_csv_module_refuses_is_a_400_naming_it(api: Api) -> None:
    c, keys, _ = api
    old = csv.field_size_limit(1000)  # the process's limit (the CLI raises it): set here so the test is fixed
    try:
        r = _post(c, "/v1/geocode/csv", _csv([["address"], ["تهران"], ["ا" * 2000]]), keys["geocode"])
    finally:
        csv.field_size_limit(old)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_csv"
    assert "line 3" in r.json()["error"]["message"], r.text
