"""`jinef rollback`: the registry a build or a replacing import took the place of, made live again with its image.

Every replace keeps the registry it replaced (a SQLite file's ``<name>.previous``, PostgreSQL's
``<schema>_previous``). Rolling back swaps the two, so a second rollback undoes the first, then makes the
restored registry's read image current: the generation compiled from it when it was live, if the image folder
still holds it, else a new compile. The service and the library then answer from the restored registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinef.common.config import RegistryLocation
from jinef.image.folder import MANIFEST, ImageError, ReadImage, publish
from jinef.write.compile import index_registry
from jinef.write.store.open import open_reader


@dataclass(frozen=True)
class RolledBack:
    """What a rollback restored."""

    registry_generation: str | None  # meta.generation of the registry now live
    image: Path  # the image generation now current
    recompiled: bool  # False when the restored registry's own image generation was still there


def rollback(location: RegistryLocation | str | Path | None = None) -> RolledBack:
    """Swap the live registry with the previous one, then make the restored registry's image current."""
    loc = RegistryLocation.of(location)
    if loc.is_postgres:
        from jinef.write.store.postgres.writer import swap_previous as swap_schema

        swap_schema(loc.target)
    else:
        from jinef.write.store.sqlite.writer import swap_previous as swap_file

        swap_file(loc.path)
    reader = open_reader(loc.engine_target())
    try:
        generation = reader.meta().get("generation")
    finally:
        reader.close()
    kept = _image_of(loc.image_root, generation)
    if kept is not None:
        publish(loc.image_root, kept.name)
        return RolledBack(generation, kept, recompiled=False)
    compiled = index_registry(loc)
    return RolledBack(generation, compiled.path, recompiled=True)


def _image_of(root: Path, registry_generation: str | None) -> Path | None:
    """A finished image generation compiled from that registry generation (under today's format and rules)."""
    if registry_generation is None or not root.is_dir():
        return None
    for folder in sorted(root.iterdir(), reverse=True):
        if folder.is_symlink() or not (folder / MANIFEST).is_file():
            continue
        try:
            image = ReadImage.open(folder)
        except ImageError:
            continue  # another format or other text rules: not usable as it is
        if image.manifest.get("registry_generation") == registry_generation:
            return folder
    return None
