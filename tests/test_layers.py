"""The layer order (adapters > read | write > image > text > model > common) is enforced by `make lint`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT)], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_package_keeps_its_layers() -> None:
    out = _lint(ROOT)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "1 kept, 0 broken" in out.stdout


def test_a_read_module_importing_the_write_side_breaks_the_lint(tmp_path: Path) -> None:
    """What `make lint` would say of a new import from the read side into the write side (on a copy)."""
    shutil.copytree(ROOT / "jinef", tmp_path / "jinef", ignore=shutil.ignore_patterns("__pycache__", "static"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "jinef" / "read" / "geo" / "locate.py").open("a", encoding="utf-8") as fh:
        fh.write("\nimport jinef.write.store.open  # noqa: E402\n")
    out = _lint(tmp_path)
    assert out.returncode != 0
    assert "jinef.read is not allowed to import jinef.write" in out.stdout
    assert "jinef.read.geo.locate -> jinef.write.store.open" in out.stdout
