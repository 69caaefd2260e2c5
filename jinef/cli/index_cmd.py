"""`jinef index`: (re)compile the read image of an existing registry, SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Annotated

import typer

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, print_json, reason
from jinef.common.config import RegistryLocation
from jinef.common.messages import catalogue, message
from jinef.image.folder import ImageError, ReadImage
from jinef.write.compile import CompiledImage, index_registry
from jinef.write.refdata.paths import DataMissingError
from jinef.write.store.base import RegistryNotFoundError
from jinef.write.store.open import open_reader


def image_report(c: CompiledImage, location: RegistryLocation) -> dict[str, object]:
    """What a compile made, for output."""
    return {"db": location.describe(), "image": str(c.path), "generation": c.generation, "units": c.units,
            "seconds": round(c.seconds, 2), "megabytes": round(c.bytes / 1e6, 1)}


def image_is_current(location: RegistryLocation, with_changes: bool = True) -> bool:
    """Whether the registry has a published image compiled from its present generation and (``with_changes``)
    every edit since (under today's text rules: an image from other rules does not open). Serving needs only the
    generation: its workers apply the edits since the image from the change feed."""
    try:
        image = ReadImage.open(location.image_root)
    except ImageError:
        return False
    reader = open_reader(location.engine_target())
    try:
        return bool(image.manifest.get("registry_generation") == reader.meta().get("generation")
                    and (not with_changes or int(image.manifest.get("change_seq") or 0) >= reader.last_change_seq()))
    finally:
        reader.close()


def _say_step(step: str) -> None:
    """One step of compiling the image, named in the command's language (an unnamed step by its id)."""
    name = message(f"cli.index.step.{step}") if f"cli.index.step.{step}" in catalogue() else step
    console.print("  " + shown(message("cli.index.compiling", step=name)), highlight=False, markup=False)


def compile_or_fail(location: RegistryLocation) -> CompiledImage:
    """Compile and publish the image, or exit with a clear message."""
    try:
        return index_registry(location, progress=_say_step)
    except (RegistryNotFoundError, DataMissingError) as exc:
        fail(reason(exc))


def index(db: DbOption = None, json_out: JsonOption = False,
          if_stale: Annotated[bool, typer.Option("--if-stale", help="Only when the image is missing or older than "
                                                                    "the registry.")] = False) -> None:
    """Compile the registry's read image (what `jinef serve` and the library answer from) and publish it."""
    location = RegistryLocation.of(db)
    if not location.exists():
        fail(message("cli.registry.missing", where=location.describe()))
    try:
        if if_stale and image_is_current(location):
            console.print(shown(message("cli.index.current", where=location.describe())), markup=False)
            return
    except RegistryNotFoundError as exc:
        fail(reason(exc))
    c = compile_or_fail(location)
    if json_out:
        print_json(image_report(c, location))
    else:
        console.print(shown(message("cli.index.compiled", units=c.units, seconds=c.seconds, mb=c.bytes / 1e6,
                                    path=str(c.path))), markup=False)


def register(app: typer.Typer) -> None:
    """Attach `jinef index`."""
    app.command()(index)
