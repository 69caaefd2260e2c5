"""`jinef units add|update|retire`, `jinef history` and `jinef changes`: the living registry from the command line.

Thin adapters on :class:`jinef.write.edit.editor.RegistryEditor`; changes made here are logged as organisation
``local``. A refused edit prints what was wrong in English and Persian and exits 1; usage errors exit 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, headings, print_json, reason, stdout_console
from jinef.common.config import RegistryLocation, RegistryNotFoundError
from jinef.common.messages import message
from jinef.model.change import CLI_ORG, REASON_CODES, Actor, Reason
from jinef.write.edit.editor import EditResult, RegistryEditor
from jinef.write.edit.errors import EditError

units_app = typer.Typer(help="Add, change and retire units; new units get new postcodes.", no_args_is_help=True)
ACTOR = Actor(CLI_ORG)
ReasonOption = Annotated[str | None, typer.Option("--reason", help=f"One of {', '.join(REASON_CODES)}, or text.")]
NoteOption = Annotated[str, typer.Option("--note", help="Free text kept with the change.")]


def _editor(db: str | None) -> RegistryEditor:
    location = RegistryLocation.of(db)
    if not location.exists():
        fail(message("cli.registry.missing", where=location.describe()))
    try:
        return RegistryEditor.open(location)
    except RegistryNotFoundError as exc:
        fail(reason(exc))


def _run(db: str | None, json_out: bool, fn: Any) -> Any:
    editor = _editor(db)
    try:
        result = fn(editor)
    except EditError as exc:
        fail(message("edit.registry_unchanged", field=exc.field, problem=exc.text, code=exc.code))
    finally:
        editor.close()
    if isinstance(result, EditResult):
        if json_out:
            print_json(result.as_dict())
        else:
            if result.postcodes:
                sys.stdout.write("\n".join(result.postcodes) + "\n")
            done = message("cli.units.done_retired", building=result.building_id, change=result.change_seq,
                           postcodes=list(result.retired)) if result.retired else \
                message("cli.units.done", building=result.building_id, change=result.change_seq)
            console.print(shown(done), highlight=False, markup=False)
    return result


def _read_body(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8-sig")
        body = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        fail(message("cli.units.not_json", path=str(path), detail=str(exc)), code=2)
    if not isinstance(body, dict):
        fail(message("cli.units.one_object", path=str(path)), code=2)
    return body


@units_app.command("add")
def add(
    file: Annotated[Path | None, typer.Option("--file", "-f", help="JSON of a new building, as POST /v1/buildings "
                                                                    "takes it (address parts, lat, lon, units); - "
                                                                    "for stdin.")] = None,
    building: Annotated[int | None, typer.Option("--building", help="Add to this building instead.")] = None,
    count: Annotated[int, typer.Option("--count", min=1, max=500, help="With --building: how many units.")] = 1,
    usage: Annotated[str, typer.Option("--usage", help="With --building: the units' usage.")] = "residential",
    floor: Annotated[int | None, typer.Option("--floor", help="With --building: the units' floor.")] = None,
    reason: ReasonOption = None, note: NoteOption = "", db: DbOption = None, json_out: JsonOption = False,
) -> None:
    """Register a new building (--file) or add units to one (--building); print the new postcodes."""
    if (file is None) == (building is None):
        fail(message("cli.units.file_or_building"), code=2)
    if file is not None:
        body = _read_body(file)
        units = body.pop("units", None)
        why = Reason.of(body.pop("reason", None) or reason or "new_building", body.pop("note", None) or note)
        _run(db, json_out, lambda e: e.create_building(body, units if isinstance(units, list) else [], ACTOR, why))
    else:
        specs = [{"floor": floor, "usage": usage, "unit": ""} for _ in range(count)]
        why = Reason.of(reason or "new_unit", note)
        _run(db, json_out, lambda e: e.add_units(building or 0, specs, ACTOR, why))


@units_app.command("update")
def update(
    postcode: Annotated[str, typer.Argument(help="The unit's postcode.")],
    sets: Annotated[list[str], typer.Option("--set", help="FIELD=VALUE: floor, unit, usage, building, plate, "
                                                          "entrance, lat, lon (repeat).")],
    reason: ReasonOption = None, note: NoteOption = "", db: DbOption = None, json_out: JsonOption = False,
) -> None:
    """Change a unit's fields (a building's fields change for all its units); a new version each."""
    fields: dict[str, Any] = {}
    for item in sets:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(message("cli.units.set_form", item=item), code=2)
        fields[name.strip()] = value
    _run(db, json_out, lambda e: e.update(postcode, fields, ACTOR, Reason.of(reason or "correction", note)))


@units_app.command("retire")
def retire(
    postcodes: Annotated[list[str], typer.Argument(help="Postcodes to retire.")],
    reason: ReasonOption = None, note: NoteOption = "", db: DbOption = None, json_out: JsonOption = False,
) -> None:
    """Retire postcodes: kept with their history, never issued again."""
    why = Reason.of(reason or "other", note)
    for p in postcodes:
        _run(db, json_out, lambda e, p=p: e.retire(p, ACTOR, why))


def history(postcode: Annotated[str, typer.Argument(help="A postcode.")], db: DbOption = None,
            json_out: JsonOption = False) -> None:
    """Every version of a unit, oldest first: when, what, who and why."""
    versions = _run(db, False, lambda e: e.history(postcode))
    if json_out:
        print_json(versions)
        return
    table = Table(*headings("version", "kind", "valid_from", "valid_to", "by", "reason", "address", "usage", "status"))
    for v in versions:
        a = v["address"]
        table.add_row(str(v["version"]), v["kind"], str(v["valid_from"] or ""), str(v["valid_to"] or ""),
                      v["org"] or "", " ".join(x for x in (v["reason"] or "", v["note"]) if x), a.get("address", ""),
                      a.get("usage", ""), a.get("status", ""))
    stdout_console().print(table)


def changes(since: Annotated[int, typer.Option("--since", min=0, help="After this change number.")] = 0,
            limit: Annotated[int, typer.Option("--limit", min=1, max=10_000)] = 100, db: DbOption = None,
            json_out: JsonOption = False) -> None:
    """The change feed after --since, oldest first (as GET /v1/changes)."""
    found = _run(db, False, lambda e: e.changes(since, limit))
    if json_out:
        print_json({"changes": found, "next": found[-1]["seq"] if found else since})
        return
    table = Table(*headings("seq", "at", "kind", "postcode", "by", "reason"))
    for c in found:
        table.add_row(str(c["seq"]), c["at"], c["kind"], c["postcode"], c["org"] or "", c["reason"] or "")
    stdout_console().print(table)


def register(app: typer.Typer) -> None:
    """Attach `jinef units …`, `jinef history` and `jinef changes`."""
    app.add_typer(units_app, name="units")
    app.command()(history)
    app.command()(changes)
