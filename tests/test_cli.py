"""The CLI's JSON interfaces that outside checks rely on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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



def test_messages_follow_lang_option_then_locale(small_registry: Path) -> None:
    """`--lang fa` or a Persian locale (LC_ALL over LC_MESSAGES over LANG) gives Persian errors and rule texts."""
    from typer.testing import CliRunner

    from jinef.cli.main import app

    def run_in(env: dict[str, str | None], *args: str) -> Any:
        # In process (the command's own code, no interpreter start); the locale variables set or unset as given.
        return CliRunner().invoke(app, list(args), env={"LC_ALL": None, "LC_MESSAGES": None, "LANG": None, **env})

    by_option = run_in({"LANG": "en_US.UTF-8"}, "--lang", "fa", "lookup", "10", "--db", str(small_registry))
    assert by_option.exit_code == 2
    assert by_option.stderr.startswith("خطا: کد پستی «۱۰» نادرست است: کد پستی باید دقیقاً ۱۰ رقم باشد"), by_option.stderr
    by_locale = run_in({"LANG": "fa_IR.UTF-8"}, "validate", "13457")
    assert by_locale.exit_code == 1 and "خیر" in by_locale.stdout and "۱۰ رقم" in by_locale.stdout, by_locale.stdout
    overridden = run_in({"LANG": "fa_IR.UTF-8", "LC_ALL": "C.UTF-8"}, "validate", "13457")
    assert "10 digits" in overridden.stdout and "رقم" not in overridden.stdout, overridden.stdout
    unknown = run_in({}, "--lang", "de", "validate", "13457")
    assert unknown.exit_code == 2 and "--lang" in unknown.stderr
