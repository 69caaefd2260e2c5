"""The admin index's disk cache: a hit answers exactly as a fresh build; a changed source is rebuilt."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from jinef.image.admin_index import AdminIndex
from jinef.write.compile import admin_index as admin_mod
from jinef.write.compile.admin_index import open_admin_index, read_admin_index, source_fingerprint
from jinef.write.refdata.paths import data_dir

QOM_CITY = (34.6401, 50.8764)


def test_cache_hit_is_identical_and_changed_source_rebuilds(admin: AdminIndex, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache = tmp_path / "data", tmp_path / "cache"
    for folder in ("boundaries", "divisions", "population"):
        shutil.copytree(data_dir() / folder, root / folder)
    open_admin_index(root, cache)
    assert len(list(cache.glob("admin-*.npz"))) == 1

    def no_build(*args: object, **kwargs: object) -> AdminIndex:
        raise AssertionError("a cache hit must not rebuild")

    with monkeypatch.context() as m:
        m.setattr(admin_mod, "build_admin_index", no_build)
        hit = open_admin_index(root, cache)
    assert hit.province_areas == admin.province_areas and hit.county_areas == admin.county_areas
    assert hit.skipped == admin.skipped
    rng = np.random.default_rng(9)
    lats, lons = rng.uniform(25, 40, 20_000), rng.uniform(44, 63.5, 20_000)
    for got, want in zip(hit.locate_many(lats, lons), admin.locate_many(lats, lons), strict=True):
        assert (got == want).all()
    assert [hit.locate_one(float(a), float(o)) for a, o in zip(lats[:2000], lons[:2000], strict=True)] == [
        admin.locate_one(float(a), float(o)) for a, o in zip(lats[:2000], lons[:2000], strict=True)]
    qom = hit.locate(*QOM_CITY)
    assert qom.province is not None and qom.province.code == "25"

    # Drop Qom's province polygon from the source: the stale cache must not answer any more.
    src = root / "boundaries" / "provinces.geojson"
    doc = json.loads(src.read_text(encoding="utf-8"))
    doc["features"] = [f for f in doc["features"] if "قم" not in str((f.get("properties") or {}).get("name:fa"))]
    src.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    rebuilt = open_admin_index(root, cache)
    assert len(list(cache.glob("admin-*.npz"))) == 2
    assert "25" not in [a.code for a in rebuilt.province_areas]
    ans = rebuilt.locate(*QOM_CITY)
    assert ans.province is None and ans.county is not None and ans.county.province_code == "25"


def test_corrupt_cache_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / f"admin-{source_fingerprint(data_dir())}.npz"
    path.write_bytes(b"PK\x03\x04 truncated")  # looks like a zip, is not one
    index = open_admin_index(None, tmp_path)
    assert index.locate(*QOM_CITY).province is not None
    assert read_admin_index(path).county_areas == index.county_areas  # overwritten with a good file
