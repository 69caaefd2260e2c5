"""`jinef rollback`: make the registry the last build or replacing import replaced live again."""

from __future__ import annotations

import typer

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, print_json, reason
from jinef.common.config import RegistryLocation
from jinef.common.messages import message
from jinef.write.compile.rollback import rollback
from jinef.write.refdata.paths import DataMissingError


def rollback_(db: DbOption = None, json_out: JsonOption = False) -> None:
    """Restore the registry the last build or replacing import replaced (and its read image); run again to undo."""
    location = RegistryLocation.of(db)
    try:
        done = rollback(location)
    except (FileNotFoundError, DataMissingError) as exc:  # no previous registry, no server, no reference data
        fail(reason(exc))
    if json_out:
        print_json({"db": location.describe(), "registry_generation": done.registry_generation,
                    "image": str(done.image), "recompiled": done.recompiled})
    else:
        how = message("cli.rollback.compiled" if done.recompiled else "cli.rollback.restored")
        console.print(shown(message("cli.rollback.done", where=location.describe(),
                                    generation=done.registry_generation, how=how, image=str(done.image))),
                      markup=False)


def register(app: typer.Typer) -> None:
    """Attach `jinef rollback`."""
    app.command("rollback")(rollback_)
