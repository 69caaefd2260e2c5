"""The image compiler: the read side's arrays from a stored registry, written as one new image generation.

``compile_image`` reads the store once (:mod:`jinef.write.compile.tables`) and derives every part from the arrays
in hand: the geocoder's postings, the reverse grid, autocomplete, and the admin polygons and basemap from
the reference data. ``jinef build`` and ``jinef import`` compile from the new registry before publishing it
(see :func:`image_step`); ``jinef index`` recompiles an existing one.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinef.common.config import RegistryLocation
from jinef.image.folder import ImageWriter, new_generation, publish
from jinef.text.rules import text_rules_fingerprint
from jinef.write.compile.admin import compile_admin
from jinef.write.compile.autocomplete import compile_autocomplete
from jinef.write.compile.geocoder import compile_geocoder
from jinef.write.compile.reverse import compile_reverse
from jinef.write.compile.tables import compile_tables
from jinef.write.store.base import RegistryReader
from jinef.write.store.open import open_reader


@dataclass(frozen=True)
class CompiledImage:
    """A finished (not necessarily published) image generation."""

    root: Path
    path: Path
    generation: str
    seconds: float
    bytes: int
    units: int


def compile_image(reader: RegistryReader, root: Path, data_root: Path | None = None,
                  progress: Callable[[str], None] | None = None) -> CompiledImage:
    """Compile the registry behind ``reader`` into a new generation under ``root`` (not yet published)."""
    t0 = time.perf_counter()
    meta = reader.meta()
    # Read before the tables: an edit committed meanwhile is then in the image and also applied again from the
    # feed (harmless: a record is the unit's whole state), never missed.
    change_seq = reader.last_change_seq()
    generation = new_generation()  # each compile is a generation of its own: a live one is never overwritten
    out = ImageWriter(root, generation)
    try:
        say = progress or (lambda _step: None)
        say("tables")
        tables = compile_tables(reader, out)
        say("geocoder")
        compile_geocoder(tables, out)
        say("reverse")
        compile_reverse(tables, out)
        say("autocomplete")
        compile_autocomplete(tables, out)
        units = len(tables.postcodes)
        counts = {"units": units, "buildings": tables.n_buildings, "thoroughfares": len(tables.th_locality),
                  "neighbourhoods": len(tables.nb_name), "localities": len(tables.loc_name)}
        del tables
        gc.collect()
        say("admin")
        compile_admin(out, data_root)
        path = out.finish({"registry_generation": meta.get("generation"), "registry_meta": meta, "counts": counts,
                           "change_seq": change_seq, "text_rules": text_rules_fingerprint()})
    except BaseException:
        out.abort()
        raise
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return CompiledImage(Path(root), path, generation, time.perf_counter() - t0, size, units)


class image_step:
    """A writer's ``prepare`` hook that compiles the new registry's image; :meth:`publish` after the commit.

    ``writer.commit(prepare=step)`` compiles before the registry is published, so a registry never goes
    live without its image; ``step.publish()`` then switches the image.
    """

    def __init__(self, location: RegistryLocation | str | Path | None, data_root: Path | None = None,
                 progress: Callable[[str], None] | None = None) -> None:
        self.root = RegistryLocation.of(location).image_root
        self.data_root = data_root
        self.progress = progress
        self.compiled: CompiledImage | None = None

    def __call__(self, reader: RegistryReader) -> None:
        self.compiled = compile_image(reader, self.root, self.data_root, self.progress)

    def publish(self) -> CompiledImage:
        """Make the compiled image current."""
        if self.compiled is None:
            raise RuntimeError("no image was compiled: pass this step to the writer's commit first")
        publish(self.root, self.compiled.generation)
        return self.compiled


def index_registry(location: RegistryLocation | str | Path | None = None, data_root: Path | None = None,
                   progress: Callable[[str], None] | None = None) -> CompiledImage:
    """Compile and publish the image of an existing registry (``jinef index``)."""
    loc = RegistryLocation.of(location)
    reader = open_reader(loc.engine_target())
    try:
        compiled = compile_image(reader, loc.image_root, data_root, progress)
    finally:
        reader.close()
    publish(loc.image_root, compiled.generation)
    return compiled
