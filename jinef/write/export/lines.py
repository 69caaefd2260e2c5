"""The export written column-wise: the same bytes as :func:`jinef.write.export.addresses.write_export`, at C speed.

A registry has few distinct names, plates, floors and unit labels, so every text is escaped (CSV or
JSON) and turned into its standard-address part once per distinct value, in Python, by the same
functions the per-:class:`Address` path uses; pyarrow then assembles the lines of a chunk of units by
taking those texts by index and joining them. Only the standard address and the coordinates vary per
unit: the address is the join of its escaped parts (escaping works character by character, so the join
of escaped parts is the escaped join), and coordinates are formatted from integers, any value whose
rounding a float product could get wrong being formatted by Python instead.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinef.common.csv_safety import neutralise_cell
from jinef.model.address import EXPORT_COLUMNS, admin_line, building_part, fa_digits, floor_text, neighbourhood_part
from jinef.write.store.base import RegistryReader
from jinef.write.store.query import EXPORT_FIELDS, thoroughfare_text

_F = {name: i for i, name in enumerate(EXPORT_FIELDS)}
_ADDRESS_SEP = "، "
_CHUNK_ROWS = 100_000


def csv_field(value: str) -> str:
    """``value`` as Python's csv module writes it inside a row (quoted only when needed)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([value, ""])  # two fields: a lone "" would be quoted
    return buf.getvalue()[:-2]


def json_inner(value: str) -> str:
    """``value`` escaped as json.dumps(ensure_ascii=False) writes it, without the quotes."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


class _Format:
    """How one field and one line are written: CSV (the csv module's quoting) or JSON Lines (json.dumps)."""

    def __init__(self, fmt: str) -> None:
        if fmt not in ("csv", "jsonl"):
            raise ValueError(f"unknown export format {fmt!r} (csv or jsonl)")
        self.csv = fmt == "csv"
        self.sep = "," if self.csv else ", "
        self.prefix, self.suffix = ("", "\n") if self.csv else ("{", "}\n")

    def field(self, key: str, value: str) -> str:
        """One field's text in the line (CSV cells neutralised against formula injection, as write_export does)."""
        return csv_field(neutralise_cell(value)) if self.csv else f'"{key}": "{json_inner(value)}"'

    def plain(self, value: str) -> bool:
        """True when writing leaves ``value`` as it is (so joins of such values need no escaping either).

        A join's neutralisation depends only on its first character: the address's is always «استان».
        """
        return (csv_field(neutralise_cell(value)) if self.csv else json_inner(value)) == value

    def wrap(self, key: str, plain_text: pa.Array) -> pa.Array:
        """Field texts of values that need no escaping."""
        if self.csv:
            return plain_text
        return pc.binary_join_element_wise(f'"{key}": "', plain_text, '"', "")

    def first(self, key: str, plain_text: pa.Array) -> pa.Array:
        """The first field of the line, with the line's prefix."""
        return pc.binary_join_element_wise(f'{self.prefix}"{key}": "', plain_text, '"', "") if not self.csv \
            else plain_text

    def last_parts(self, key: str) -> tuple[str, str]:
        """What goes before and after the plain text of the last field (it carries the line's end)."""
        return ("", self.suffix) if self.csv else (f'"{key}": "', '"' + self.suffix)


def _texts(values: Sequence[str | None]) -> pa.Array:
    return pa.array(values, type=pa.string())


class _IdIndex:
    """Positions of sparse ids (a build numbers each area's rows from its own base) in a sorted id array."""

    def __init__(self, ids: np.ndarray) -> None:
        self.order = np.argsort(ids, kind="stable")
        self.ids = ids[self.order]
        self.missing = len(ids)  # the position that stands for a NULL or unknown id

    def positions(self, ids: Sequence[int | None]) -> np.ndarray:
        """Position of each id in the sorted array, :attr:`missing` for NULL or unknown ids."""
        arr = pa.array(ids, type=pa.int64()).fill_null(-1).to_numpy()
        pos = np.minimum(np.searchsorted(self.ids, arr), max(len(self.ids) - 1, 0))
        found = self.ids[pos] == arr if len(self.ids) else np.zeros(len(arr), dtype=bool)
        return np.where(found, pos, self.missing)


class _Lookups:
    """Per-id texts of the few hundred thousand localities, neighbourhoods and thoroughfares."""

    def __init__(self, reader: RegistryReader, f: _Format) -> None:
        names = {t: dict(zip(c["code"].tolist(), c["name"].tolist(), strict=True)) for t in
                 ("provinces", "counties", "districts", "rural_districts")
                 for c in [reader.columns(t, ["code", "name"])]}
        loc = reader.columns("localities", ["id", "type", "name", "province_code", "county_code", "district_code",
                                            "rural_district_code"])
        self.loc = _IdIndex(loc["id"])
        fields: list[str | None] = []
        admin: list[str | None] = []
        keys = ("province", "county", "district", "rural_district", "locality_type", "locality")
        columns = [loc[k][self.loc.order].tolist() for k in loc if k != "id"]
        for kind, name, p, c, d, r in zip(*columns, strict=True):
            values = (names["provinces"].get(p, ""), names["counties"].get(c, ""),
                      names["districts"].get(d, "") or "", names["rural_districts"].get(r, "") or "", kind, name)
            fields.append(f.sep.join(f.field(k, v) for k, v in zip(keys, values, strict=True)))
            admin.append(admin_line(*values))
        self.admin_plain = np.array([f.plain(a or "") for a in admin] + [True], dtype=bool)
        self.loc_fields, self.admin = _texts([*fields, None]), _texts([*admin, None])

        hoods = reader.columns("neighbourhoods", ["id", "name"])
        self.hood = _IdTexts(hoods["id"], [n or "" for n in hoods["name"].tolist()], "neighbourhood", f,
                             lambda v: _ADDRESS_SEP + neighbourhood_part(v))
        tf = reader.columns("thoroughfares", ["id", "type", "name"])
        texts = [thoroughfare_text(k, n) for k, n in zip(tf["type"].tolist(), tf["name"].tolist(), strict=True)]
        self.prev = _IdTexts(tf["id"], texts, "prev_thoroughfare", f, lambda v: _ADDRESS_SEP + fa_digits(v))
        self.last = _IdTexts(tf["id"], texts, "last_thoroughfare", f, lambda v: _ADDRESS_SEP + fa_digits(v))


class _IdTexts:
    """Field text, address part and plainness by id; a missing or NULL id is the empty value."""

    def __init__(self, ids: np.ndarray, values: list[str], key: str, f: _Format, part: Callable[[str], str]) -> None:
        self.index = _IdIndex(ids)
        by_position = [values[i] for i in self.index.order.tolist()] + [""]
        distinct = list(dict.fromkeys(by_position))
        code_of = {v: k for k, v in enumerate(distinct)}
        self.codes = np.fromiter((code_of[v] for v in by_position), dtype=np.int32, count=len(by_position))
        self.field = _texts([f.field(key, v) for v in distinct])
        self.part = _texts([part(v) if v else None for v in distinct])
        self.plain = np.array([f.plain(v) for v in distinct], dtype=bool)

    def take(self, ids: Sequence[int | None]) -> tuple[pa.Array, pa.Array, np.ndarray]:
        """Field texts, address parts (null when empty) and plainness of these ids."""
        codes = self.codes[self.index.positions(ids)]
        return self.field.take(codes), self.part.take(codes), self.plain[codes]


def _by_value(values: Sequence[Any], key: str, f: _Format, value_text: Callable[[Any], str],
              part: Callable[[Any], str | None],
              kind: pa.DataType = pa.string()) -> tuple[pa.Array, pa.Array, np.ndarray]:
    """Field texts, address parts and plainness of a column, each computed once per distinct value."""
    enc = pa.array(values, type=kind).dictionary_encode(null_encoding="encode")
    distinct = enc.dictionary.to_pylist()
    texts = [value_text(v) for v in distinct]
    idx = enc.indices
    plain = np.array([f.plain(t) for t in texts], dtype=bool)
    return (_texts([f.field(key, t) for t in texts]).take(idx), _texts([part(v) for v in distinct]).take(idx),
            plain[idx.to_numpy(zero_copy_only=False)])


def _text_or_empty(v: str | None) -> str:
    return v or ""


def _prefixed(word: str) -> Callable[[str | None], str | None]:
    return lambda v: f"{_ADDRESS_SEP}{word} {fa_digits(v)}" if v else None


def _floor_part(v: int | None) -> str | None:
    return None if v is None else f"{_ADDRESS_SEP}طبقه {floor_text(v)}"


def format_coords(values: np.ndarray) -> pa.Array:
    """Coordinates as ``format_coord(round(v, 7))`` writes them (``''`` for NaN), for a whole column."""
    x = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        k = x * 1e7
        frac = k - np.floor(k)
        # Near a half the float product may round the wrong way, and huge values lose digits: Python does those.
        slow = ~np.isfinite(x) | (np.abs(x) > 1e4) | (np.abs(frac - 0.5) < 1e-6)
    kr = np.rint(np.where(slow, 0.0, k))
    neg = np.signbit(kr)
    a = np.abs(kr).astype(np.int64)
    whole = pc.cast(pa.array(a // 10_000_000), pa.string())
    part = pc.utf8_lpad(pc.cast(pa.array(a % 10_000_000), pa.string()), 7, "0")
    text = pc.binary_join_element_wise(pc.if_else(pa.array(neg), "-", ""), whole, ".", part, "")
    if slow.any():
        fixed = [("" if np.isnan(v) else f"{round(float(v), 7):.7f}") for v in x[slow]]
        text = pc.replace_with_mask(text, pa.array(slow), pa.array(fixed, type=pa.string()))
    return text


def format_chunk(rows: list[tuple[Any, ...]], look: _Lookups, f: _Format) -> pa.Array:
    """The export lines of one chunk of rows of the export query, as one string per unit."""
    cols = list(zip(*rows, strict=True))
    loc = look.loc.positions(cols[_F["locality_id"]])
    codes = np.array(cols[_F["postcode"]], dtype=np.int64)
    postcode = f.first("postcode", pc.utf8_lpad(pc.cast(pa.array(codes), pa.string()), 10, "0"))
    hood, hood_part, hood_plain = look.hood.take(cols[_F["neighbourhood_id"]])
    prev, prev_part, prev_plain = look.prev.take(cols[_F["prev_thoroughfare_id"]])
    last, last_part, last_plain = look.last.take(cols[_F["last_thoroughfare_id"]])
    plate, plate_part, plate_plain = _by_value(cols[_F["plate"]], "plate", f, _text_or_empty, _prefixed("پلاک"))
    ent, ent_part, ent_plain = _by_value(cols[_F["entrance"]], "entrance", f, _text_or_empty, _prefixed("ورودی"))
    bld, bld_part, bld_plain = _by_value(cols[_F["name"]], "building", f, _text_or_empty,
                                           lambda v: _ADDRESS_SEP + building_part(v) if v else None)
    floor, floor_part, floor_plain = _by_value(cols[_F["floor"]], "floor", f,
                                               lambda v: "" if v is None else str(v), _floor_part, pa.int64())
    unit, unit_part, unit_plain = _by_value(cols[_F["unit"]], "unit", f, _text_or_empty, _prefixed("واحد"))
    usage, _, _ = _by_value(cols[_F["usage"]], "usage", f, _text_or_empty, lambda v: None)
    lat = f.wrap("lat", format_coords(np.array(cols[_F["lat"]], dtype=np.float64)))
    lon = f.wrap("lon", format_coords(np.array(cols[_F["lon"]], dtype=np.float64)))

    # One pass builds the address field and the line's end: each part after the first carries its separator
    # (the parts are texts per distinct value), and an empty part is a null that the join skips.
    before, after = f.last_parts("address")
    parts = (hood_part, prev_part, last_part, plate_part, ent_part, bld_part, floor_part, unit_part)
    address_field = pc.binary_join_element_wise(before, look.admin.take(loc), *parts, after, "", null_handling="skip")
    plain = (look.admin_plain[loc] & hood_plain & prev_plain & last_plain & plate_plain & ent_plain & bld_plain
             & floor_plain & unit_plain)
    if not plain.all():  # a quote, comma or control character somewhere: the whole field escaped by Python
        odd = pa.array(~plain)
        fixed = [f.field("address", a[len(before):len(a) - len(after)]) + f.suffix
                 for a in address_field.filter(odd).to_pylist()]
        address_field = pc.replace_with_mask(address_field, odd, pa.array(fixed, type=pa.string()))
    return pc.binary_join_element_wise(postcode, look.loc_fields.take(loc), hood, prev, last, plate, ent, bld, floor,
                                       unit, usage, lat, lon, address_field, f.sep)


def _concatenated(lines: pa.Array) -> memoryview:
    """The bytes of all the strings of an array, back to back (its data buffer, no copy)."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=4 * lines.offset)
    data = lines.buffers()[2]
    return memoryview(data)[int(offsets[0]) : int(offsets[-1])]


def write_registry_export(
    reader: RegistryReader,
    out: TextIO,
    fmt: str = "csv",
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    chunk_rows: int = _CHUNK_ROWS,
) -> int:
    """Write every active unit of the registry to ``out``, column-wise; return how many were written.

    A SQLite registry is cut into runs of postcodes formatted by ``workers`` forked processes (default:
    one per core), each reading through its own connection; the lines come back in order.
    """
    f = _Format(fmt)
    look = _Lookups(reader, f)
    write = _byte_writer(out)
    if f.csv:
        write(",".join(csv_field(c) for c in EXPORT_COLUMNS).encode() + b"\n")
    bounds = reader.postcode_bounds(chunk_rows)
    runs = list(zip([None, *bounds], [*bounds, None], strict=True))
    workers = min(workers or os.cpu_count() or 1, len(runs))
    path = getattr(reader, "path", None)
    n = 0
    if workers > 1 and isinstance(path, Path):  # PostgreSQL: one connection, so one snapshot
        ctx = multiprocessing.get_context("fork")
        with tempfile.TemporaryDirectory(prefix="jinef-export-") as tmp, \
                ctx.Pool(workers, _start_worker, (reader, look, f, os.stat(path).st_ino, chunk_rows, tmp)) as pool:
            for count, part in pool.imap(_format_run_in_worker, enumerate(runs)):
                n += count
                _append_file(out, write, Path(part))
                if progress:
                    progress(count)
    else:
        for start, stop in runs:
            for rows in reader.export_chunks(batch=chunk_rows, start=start, stop=stop):
                write(_concatenated(format_chunk(rows, look, f)))
                n += len(rows)
                if progress:
                    progress(len(rows))
    return n


def _append_file(out: TextIO, write: Callable[[bytes | memoryview], Any], part: Path) -> None:
    """Append a worker's part to the output, by the kernel when the output is a file or a pipe."""
    try:
        fd = out.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd = -1
    with part.open("rb") as src:
        size = os.fstat(src.fileno()).st_size
        if fd >= 0 and write == getattr(getattr(out, "buffer", None), "write", None):
            out.buffer.flush()
            sent = 0
            while sent < size:
                sent += os.sendfile(fd, src.fileno(), sent, size - sent)
        else:
            while data := src.read(1 << 24):
                write(data)
    part.unlink()


_worker: dict[str, Any] = {}


def _start_worker(reader: RegistryReader, look: _Lookups, f: _Format, inode: int, chunk_rows: int,
                  tmp: str) -> None:
    """A forked export worker: its own connection to the same registry file (the lookups are inherited)."""
    own = reader.reopen()
    if os.stat(getattr(own, "path")).st_ino != inode:  # noqa: B009 - only SQLite readers come here
        raise RuntimeError("the registry was replaced during the export; export again")
    _worker.update(reader=own, look=look, f=f, chunk_rows=chunk_rows, tmp=tmp)


def _format_run_in_worker(numbered_run: tuple[int, tuple[int | None, int | None]]) -> tuple[int, str]:
    """Format one run of postcodes into a file of its own; return its unit count and the file's path."""
    i, (start, stop) = numbered_run
    reader: RegistryReader = _worker["reader"]
    count = 0
    path = os.path.join(_worker["tmp"], f"run-{i}")
    with open(path, "wb") as fh:
        for rows in reader.export_chunks(batch=_worker["chunk_rows"], start=start, stop=stop):
            fh.write(_concatenated(format_chunk(rows, _worker["look"], _worker["f"])))
            count += len(rows)
    return count, path


def _byte_writer(out: TextIO) -> Callable[[bytes | memoryview], Any]:
    """Write UTF-8 bytes to a text stream: straight to its buffer when it has one and encodes UTF-8."""
    raw = getattr(out, "buffer", None)
    encoding = (getattr(out, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if raw is not None and encoding == "utf8":
        out.flush()
        return raw.write
    return lambda b: out.write(bytes(b).decode("utf-8"))
