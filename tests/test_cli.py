"""The CLI's JSON interfaces that outside checks rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from jinef.model.address import EXPORT_COLUMNS
from jinef.read.registry.registry import Registry

JINEF = [sys.executable, "-m", "jinef.cli.main"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*JINEF, *args], capture_output=True, text=True, timeout=120)


def test_validate_json() -> None:
    r = run("validate", "۱۳۴۵۶-۷۸۹۰۱", "12345", "--json")
    out = json.loads(r.stdout)
    assert out[0] == {"input": "۱۳۴۵۶-۷۸۹۰۱", "postcode": "1345678901", "valid": True, "reasons": []}
    assert out[1]["valid"] is False and out[1]["postcode"] is None
    assert set(out[1]["reasons"]) == {"wrong_length", "zero_or_two_in_first_five"}
    assert r.returncode == 1


def test_lookup_json_in_order_with_null(small_registry: Path) -> None:
    with Registry.open(small_registry) as reg:
        a = next(reg.addresses())
    r = run("lookup", a.postcode, "1345678912", "--json", "--db", str(small_registry))
    out = json.loads(r.stdout)
    assert out[1] is None
    assert list(out[0]) == list(EXPORT_COLUMNS)
    assert out[0]["postcode"] == a.postcode and out[0]["address"] == a.standard_address


def test_lookup_invalid_argument_names_the_rule(small_registry: Path) -> None:
    r = run("lookup", "10", "--db", str(small_registry))
    assert r.returncode == 2 and "10 digits" in r.stderr


def test_stats_json(small_registry: Path) -> None:
    out = json.loads(run("stats", "--json", "--db", str(small_registry)).stdout)
    assert len(out) == 31
    assert {"province", "units", "buildings", "thoroughfares", "localities", "geocoded_share"} <= set(out[0])
    assert sum(p["units"] for p in out) == 20000


def test_missing_registry_message(tmp_path: Path) -> None:
    r = run("stats", "--db", str(tmp_path / "nope.sqlite"))
    assert r.returncode == 1 and "jinef build" in r.stderr
