"""The read image on disk: generations published atomically, opened whole, refused when they cannot be trusted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jinef.common.config import RegistryLocation
from jinef.image.folder import (
    CURRENT,
    MANIFEST,
    ImageError,
    ImageWriter,
    ReadImage,
    current_generation,
    new_generation,
    publish,
)
from jinef.image.strings import StringTable
from jinef.read.registry.registry import Registry
from jinef.text.rules import text_rules_fingerprint


def _image(root: Path, values: list[int], generation: str | None = None) -> str:
    gen = generation or new_generation()
    w = ImageWriter(root, gen)
    w.array("numbers/values", np.array(values, dtype=np.int64))
    w.array("numbers/empty", np.zeros(0, dtype=np.int32))
    w.strings("names", ["تهران", "", "کوچه ۱۲"])
    w.finish({"text_rules": text_rules_fingerprint()})
    return gen


def test_a_generation_is_invisible_until_published_then_opened_whole(tmp_path: Path) -> None:
    root = tmp_path / "img"
    first = _image(root, [1, 2, 3])
    with pytest.raises(ImageError, match="jinef index"):
        ReadImage.open(root)  # finished but not published
    publish(root, first)
    img = ReadImage.open(root)
    assert img.generation == first and img.array("numbers/values").tolist() == [1, 2, 3]
    assert img.array("numbers/empty").tolist() == []
    assert img.strings("names").tolist() == ["تهران", "", "کوچه ۱۲"]
    assert not img.array("numbers/values").flags.writeable  # mapped read-only
    second = _image(root, [4])
    publish(root, second)
    assert current_generation(root) == second
    assert img.array("numbers/values").tolist() == [1, 2, 3]  # an open image keeps reading its own generation
    assert ReadImage.open(root).array("numbers/values").tolist() == [4]


def test_publish_keeps_the_two_newest_generations(tmp_path: Path) -> None:
    root = tmp_path / "img"
    gens = []
    for i in range(4):
        gens.append(_image(root, [i]))
        os.utime(root / gens[-1], (i, i))  # distinct ages, whatever the clock's resolution
        publish(root, gens[-1])
    left = sorted(p.name for p in root.iterdir() if not p.is_symlink())
    assert left == sorted(gens[-2:]) and os.readlink(root / CURRENT) == gens[-1]


def test_a_killed_compile_leaves_no_generation(tmp_path: Path) -> None:
    root = tmp_path / "img"
    publish(root, _image(root, [1]))
    w = ImageWriter(root, new_generation())
    w.array("numbers/values", np.arange(5))
    w.abort()
    assert [p.name for p in root.iterdir() if p.name.startswith(".")] == []
    assert ReadImage.open(root).array("numbers/values").tolist() == [1]


def test_images_of_another_format_or_other_text_rules_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "img"
    gen = _image(root, [1])
    publish(root, gen)
    manifest = root / gen / MANIFEST
    m = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**m, "text_rules": "0" * 16}))
    with pytest.raises(ImageError, match="other Persian text rules"):
        ReadImage.open(root)
    manifest.write_text(json.dumps({**m, "format_version": 999}))
    with pytest.raises(ImageError, match="version"):
        ReadImage.open(root)


def test_a_registry_without_an_image_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="jinef index"):
        Registry.open(tmp_path / "nothing.sqlite")


def test_image_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JINEF_IMAGE_DIR", raising=False)
    monkeypatch.setenv("JINEF_STATE_DIR", str(tmp_path / "state"))
    assert RegistryLocation.of(tmp_path / "r.sqlite").image_root == tmp_path / "r.image"
    pg = RegistryLocation.of("postgresql://u:secret@db.internal/gnaf?schema=prod")
    assert pg.image_root == tmp_path / "state" / "images" / "db.internal-gnaf-prod"
    assert "secret" not in pg.describe() and "secret" not in str(pg.image_root)
    monkeypatch.setenv("JINEF_IMAGE_DIR", str(tmp_path / "elsewhere"))
    assert pg.image_root == tmp_path / "elsewhere"


@given(st.lists(st.text(alphabet=st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)),
                        max_size=12), max_size=40))
def test_string_tables_hold_any_text(values: list[str]) -> None:
    table = StringTable.of(values)
    assert table.tolist() == values
    assert [table[i] for i in range(len(values))] == values
    ordered = StringTable.of(sorted(set(values)))
    for v in values:
        assert ordered[ordered.find(v)] == v
    assert ordered.find("\U0010ffff-not-there") == -1
