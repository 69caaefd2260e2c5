"""The column-wise export against the per-Address reference, byte for byte, and its vectorised pieces."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jinef.model import postcode as pc
from jinef.model.address import format_coord
from jinef.model.postcode_column import validate_column
from jinef.write.export.addresses import write_export
from jinef.write.export.lines import format_coords, write_registry_export
from jinef.write.ingest import key_ids
from jinef.write.ingest.key_ids import KeyIds
from jinef.write.store.open import open_reader, open_writer

Location = Path | str
JINEF = [sys.executable, "-m", "jinef.cli.main"]


def both_exports(db: Location, fmt: str, **kw: object) -> tuple[str, str]:
    """(reference, column-wise) export text of a registry."""
    ref, fast = io.StringIO(), io.StringIO()
    reader = open_reader(db)
    try:
        write_export(reader.iter_addresses(), ref, fmt)  # type: ignore[arg-type]
        write_registry_export(reader, fast, fmt, **kw)  # type: ignore[arg-type]
    finally:
        reader.close()
    return ref.getvalue(), fast.getvalue()


def odd_registry(db: Location) -> Location:
    """Every kind of value the export writes: NULLs, empty texts, floors -1/0/None, no point, quotes, commas,
    line breaks, control characters, sparse ids, coordinates that round up or sit on -0.0, a retired unit."""
    w = open_writer(db)
    w.add("provinces", [("01", 'تهران, "بزرگ"'), ("02", "البرز")])
    w.add("counties", [("0101", "کرج", "01"), ("0201", "نظرآباد", "02")])
    w.add("districts", [("010101", "مرکزی", "0101")])
    w.add("rural_districts", [("01010101", "دهستان\nالف", "0101", "010101")])
    w.add("localities", [
        (1, "شهر", "کرج", "c1", "01", "0101", "010101", None, 35.8, 51.0),
        (2, "روستا", 'ده "بالا"', "v1", "01", "0101", None, "01010101", 35.9, 51.1),
        (700000000001, "آبادی", "", "h1", "02", "0201", None, None, None, None),
    ])
    w.add("neighbourhoods", [(1, 1, "محله ۱۲"), (2, 1, "a\nb"), (3, 2, "")])
    w.add("thoroughfares", [(1, 1, "خیابان", "آزادی"), (2, 1, "میدان", ""), (3, 1, "کوچه", "12,3"),
                            (4, 2, "بلوار", 'x"y'), (5, 2, None, None), (900000000004, 700000000001, "جاده", "1\x1f2")])
    w.add("buildings", [
        (1, 1, 1, 1, 2, "12", "", "", 35.7000001, 51.4, "imported", 3),
        (2, 1, None, None, 3, None, None, None, None, None, "generated", 0),
        (3, 2, 2, 4, 1, "۱۲/۳", "ب", 'برج "میلاد"', -0.0, 179.99999995, "survey", 3),
        (4, 700000000001, 3, 5, 900000000004, "1,2", "\r", "\t", 89.12345675, -0.00000004, "survey", 2),
        (5, 2, None, None, 4, "7", "", "", -12.5, 0.000000049999, "survey", 2),
        (600000000006, 1, 1, 3, 1, " 8 ", "۲", "\u2028", 1e-7, 2.5e-8, "survey", 2),
        (7, 1, 1, 1, 2, "+1", "-a", "=HYPERLINK(1)", 35.1, 51.1, "survey", 2),  # formula-like cells
    ])
    units = [
        (1, 1345678901, 1, -1, "", "residential", "active", "2025-03-21", None),
        (2, 1345678902, 1, 0, "۳", "commercial", "active", "2025-03-21", None),
        (3, 1345678903, 1, None, None, "residential", "active", "2025-03-21", None),
        (4, 1345678904, 2, 12, "a,b", "workshop", "active", "2025-03-21", None),
        (5, 1345678905, 3, 3, 'x"y', 'q"', "active", "2025-03-21", None),
        (6, 1345678906, 4, -3, "\n", "health", "active", "2025-03-21", None),
        (7, 1345678907, 5, None, "", "residential", "retired", "2025-03-21", "2025-04-01"),
        (8, 9999999998, 600000000006, 1, "1", "residential", "active", "2025-03-21", None),
        (9, 3456789012, 5, 0, "", "residential", "active", "2025-03-21", None),
        (10, 1345678900, 600000000006, None, "", "religious", "active", "2025-03-21", None),
        (11, 1345678911, 7, -2, "'q", "@x", "active", "2025-03-21", None),
    ]
    w.add("units", units)
    w.commit()
    return db


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_odd_values_same_bytes(new_location: Callable[[str], Location], fmt: str) -> None:
    db = odd_registry(new_location("odd"))
    ref, fast = both_exports(db, fmt)
    assert ref.count("\n") >= 9 and "1345678907" not in ref  # the retired unit is not exported
    assert fast == ref
    assert fmt == "jsonl" or "'=HYPERLINK(1)" in ref  # neutralised as write_export does
    # Runs of 2 units, formatted by forked workers on SQLite: the same bytes, in order.
    assert both_exports(db, fmt, chunk_rows=2, workers=2)[1] == ref


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_generated_registry_same_bytes(engine_registry: Location, fmt: str) -> None:
    ref, fast = both_exports(engine_registry, fmt)
    assert fast == ref
    assert both_exports(engine_registry, fmt, chunk_rows=500, workers=2)[1] == ref


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_cli_round_trip(engine_registry: Location, new_location: Callable[[str], Location], tmp_path: Path,
                        fmt: str) -> None:
    first, second = tmp_path / f"a.{fmt}", tmp_path / f"b.{fmt}"
    db = new_location("rt")
    subprocess.run([*JINEF, "export", "--db", str(engine_registry), "--format", fmt, "-o", str(first)], check=True)
    subprocess.run([*JINEF, "import", str(first), "--format", fmt, "--db", str(db)], check=True)
    subprocess.run([*JINEF, "export", "--db", str(db), "--format", fmt, "-o", str(second)], check=True)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes().decode() == both_exports(engine_registry, fmt)[0]


EDGE_COORDS = [0.0, -0.0, 1e-7, -1e-7, 5e-8, -5e-8, 4.9999999e-8, 35.12345675, 35.12345665, 179.99999995,
               -179.99999995, 90.0, 51.000000049999996, 12345.678, -1e9, 1e300, math.nan, math.inf, -math.inf]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(-200, 200), st.sampled_from(EDGE_COORDS),
                          st.integers(-1_800_000_000, 1_800_000_000).map(lambda k: k / 1e7),
                          st.integers(-1_800_000_000, 1_800_000_000).map(lambda k: (k + 0.5) / 1e7)),
                max_size=50))
def test_format_coords_as_format_coord(values: list[float]) -> None:
    got = format_coords(np.array(values, dtype=np.float64)).to_pylist()
    want = ["" if math.isnan(v) else format_coord(round(v, 7)) for v in values]
    assert got == want


POSTCODE_TEXT = st.one_of(
    st.text(alphabet="0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩ -‐_\u200cabc", max_size=14),
    st.integers(0, 10**10 - 1).map(lambda n: f"{n:010d}"),
    st.sampled_from(["", " ", "1111111111", "3333333333", "1345678901", "13456-78901", "۱۳۴۵۶۷۸۹۰۱", "0000000000",
                     "2345678901", "1345678901 ", "12345678901", "134567890", "١٣٤٥٦٧٨٩٠١"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(POSTCODE_TEXT, max_size=40))
def test_validate_column_as_validate(texts: list[str]) -> None:
    codes, checks = validate_column(pa.array(texts, type=pa.string()))
    for i, t in enumerate(texts):
        v = pc.validate(t)
        assert codes[i] == (int(v.postcode) if v.valid and v.postcode else -1)
        if i in checks:
            assert checks[i] == v
        else:
            assert v.valid and v.postcode == t


@pytest.mark.parametrize("max_run", [1 << 22, 64])
def test_key_ids_as_a_dict(max_run: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(key_ids, "MAX_RUN", max_run)  # 64: runs stop merging, several are searched
    rng = np.random.default_rng(5)
    ids, oracle, last = KeyIds(), {}, 0
    for _ in range(30):
        # Few first words, so that many keys share one (the path hashed keys take on a collision).
        k1 = rng.integers(0, 300, 200).astype(np.uint64)
        k2 = rng.integers(0, 3, 200).astype(np.uint64)
        got, first, last = ids.lookup(k1, k2, last)
        for i, key in enumerate(zip(k1.tolist(), k2.tolist(), strict=True)):
            if key not in oracle:
                oracle[key] = len(oracle) + 1
                assert i in first.tolist()
            assert got[i] == oracle[key]
    assert last == len(oracle) == len(ids)
    assert len(ids.main.runs) >= (2 if max_run == 64 else 1)
