"""``RegistryEditor``: the living registry's changes — new buildings and units with new postcodes, edits,
moves, splits, merges and retirements — each one transaction that also logs every unit it changed.

The current registry (``units``, ``buildings``) always holds the current version of each unit; the change log
(:mod:`jinef.write.edit.changelog`) holds every version and is the feed serving workers apply on top of their
read image. Nothing here recompiles the image: ``jinef index`` folds the changes into the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinef.common.config import RegistryLocation
from jinef.common.messages import message
from jinef.model.change import CLI_ORG, Actor, ChangeKind, Reason
from jinef.model.postcode import PostcodeError, from_int, to_int
from jinef.write.edit import changelog
from jinef.write.edit.allocate import Neighbour, allocate, neighbour_of
from jinef.write.edit.errors import EditError, not_found
from jinef.write.edit.resolve import resolve_place
from jinef.write.edit.session import EditSession, EditStore, open_edit_store
from jinef.write.edit.units import (
    BUILDING_FIELDS,
    UNIT_FIELDS,
    coordinate,
    short_text,
    unit_changes,
    unit_list,
)

CLI_ACTOR = Actor(CLI_ORG)  # changes made on the registry's own machine, by `jinef units …`


@dataclass(frozen=True, slots=True)
class NewBuilding:
    """A new building's checked fields (see :func:`check_building`)."""

    parts: dict[str, Any]
    lat: float
    lon: float
    plate: str
    entrance: str
    name: str
    units: list[tuple[int | None, str, str]]


def check_building(parts: dict[str, Any], units: Sequence[dict[str, Any]]) -> NewBuilding:
    """Check a new building's point, labels and units (its place is resolved in the transaction)."""
    return NewBuilding(dict(parts), coordinate(parts.get("lat"), "lat"), coordinate(parts.get("lon"), "lon"),
                       short_text(parts.get("plate"), "plate"), short_text(parts.get("entrance"), "entrance"),
                       short_text(parts.get("building"), "building"), unit_list(list(units)))


@dataclass(frozen=True, slots=True)
class EditResult:
    """What an edit did: the building, the postcodes it created or changed, and the last change's number."""

    building_id: int | None
    postcodes: list[str]
    change_seq: int
    retired: list[str] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        d: dict[str, Any] = {"building_id": self.building_id, "postcodes": self.postcodes,
                             "change_seq": self.change_seq}
        if self.retired is not None:
            d["retired"] = self.retired
        return d


def _postcode(text: str | int) -> int:
    try:
        return text if isinstance(text, int) else to_int(str(text))
    except PostcodeError as exc:
        raise EditError("invalid_postcode", "postcode", exc.validation.error()) from None


def _today(at: str) -> str:
    return at[:10]


class RegistryEditor:
    """Changes to one registry (SQLite file or PostgreSQL schema), safe under concurrent editors."""

    def __init__(self, store: EditStore) -> None:
        self.store = store

    @classmethod
    def open(cls, location: RegistryLocation | str | Path | None = None) -> RegistryEditor:
        """An editor of the registry at ``location`` (default: ``JINEF_DB``, else the default file)."""
        return cls(open_edit_store(location))

    def close(self) -> None:
        """Release the connection."""
        self.store.close()

    def __enter__(self) -> RegistryEditor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- new postcodes -------------------------------------------------------------------------------------

    def create_building(self, parts: dict[str, Any], units: Sequence[dict[str, Any]], actor: Actor = CLI_ACTOR,
                        reason: Reason = Reason("new_building")) -> EditResult:
        """A new building at ``parts`` (address parts as in the export, ``lat``, ``lon``) with new postcodes."""
        checked = check_building(parts, units)
        with self.store.transaction() as s:
            return self.create_in(s, checked, actor, reason)

    def create_in(self, s: EditSession, b: NewBuilding, actor: Actor, reason: Reason) -> EditResult:
        """:meth:`create_building` inside an open edit transaction (the office workflow approves with it)."""
        place = resolve_place(s, b.parts)
        near = neighbour_of(s, place.locality_id, place.locality_type, place.last_thoroughfare_id, b.lat, b.lon)
        building_id = int(s.rows("SELECT COALESCE(MAX(id), 0) + 1 FROM buildings")[0][0])
        s.run("INSERT INTO buildings (id, locality_id, neighbourhood_id, prev_thoroughfare_id, "
              "last_thoroughfare_id, plate, entrance, name, lat, lon, geocode_source, geocode_quality) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              [building_id, place.locality_id, place.neighbourhood_id, place.prev_thoroughfare_id,
               place.last_thoroughfare_id, b.plate, b.entrance, b.name, b.lat, b.lon, "survey", 3])
        return self._add(s, building_id, near, b.units, actor, reason)

    def add_units(self, building_id: int, units: Sequence[dict[str, Any]], actor: Actor = CLI_ACTOR,
                  reason: Reason = Reason("new_unit")) -> EditResult:
        """New units (and postcodes) in an existing building, numbered after its own."""
        specs = unit_list(list(units))
        with self.store.transaction() as s:
            rows = s.rows("SELECT l.type FROM buildings b JOIN localities l ON l.id = b.locality_id WHERE b.id = ?",
                          [building_id])
            if not rows:
                raise not_found("building", building_id)
            if not s.rows("SELECT 1 FROM units WHERE building_id = ? LIMIT 1", [building_id]):
                raise EditError("no_neighbour", "building", message("edit.building_no_postcode", building=building_id))
            return self._add(s, building_id, Neighbour(building_id, rows[0][0] == "شهر"), specs, actor, reason)

    def _add(self, s: EditSession, building_id: int, near: Neighbour, specs: list[tuple[int | None, str, str]],
             actor: Actor, reason: Reason) -> EditResult:
        at = changelog.now()
        codes = allocate(s, near, len(specs))
        first_id = int(s.rows("SELECT COALESCE(MAX(id), 0) + 1 FROM units")[0][0])
        s.many("INSERT INTO units (id, postcode, building_id, floor, unit, usage, status, valid_from) "
               "VALUES (?, ?, ?, ?, ?, ?, 'active', ?)",
               [(first_id + i, code, building_id, floor, unit, usage, _today(at))
                for i, (code, (floor, unit, usage)) in enumerate(zip(codes, specs, strict=True))])
        seq = 0
        for code in codes:
            seq = changelog.record(s, ChangeKind.CREATE, code, None, actor, reason, at)
        return EditResult(building_id, [from_int(c) for c in codes], seq)

    # -- edits ---------------------------------------------------------------------------------------------

    def update(self, postcode: str | int, fields: dict[str, Any], actor: Actor = CLI_ACTOR,
               reason: Reason = Reason("correction")) -> EditResult:
        """Change a unit's fields; a building's fields (name, plate, entrance, location) change for every unit
        of its building, and each of those units gets a new version."""
        code = _postcode(postcode)
        unknown = sorted(set(fields) - set(UNIT_FIELDS) - set(BUILDING_FIELDS))
        if unknown or not fields:
            what = unknown[0] if unknown else "fields"
            raise EditError("unknown_field", what,
                            message("edit.field_not_changeable", allowed=list(UNIT_FIELDS + BUILDING_FIELDS)))
        unit_set = unit_changes(fields)
        building_set: dict[str, Any] = {}
        for f in ("plate", "entrance"):
            if f in fields:
                building_set[f] = short_text(fields[f], f)
        if "building" in fields:
            building_set["name"] = short_text(fields["building"], "building")
        for f in ("lat", "lon"):
            if f in fields:
                building_set[f] = coordinate(fields[f], f)
        if "lat" in building_set or "lon" in building_set:
            building_set["geocode_source"] = "survey"
        with self.store.transaction() as s:
            before = self._active(s, code)
            at = changelog.now()
            touched = [code]
            if building_set:
                touched = [int(r[0]) for r in s.rows(
                    "SELECT postcode FROM units WHERE building_id = ? AND status = 'active' ORDER BY postcode",
                    [before.building_id])]
                befores = {c: changelog.current(s, c) for c in touched}
                s.run(f"UPDATE buildings SET {', '.join(f'{k} = ?' for k in building_set)} WHERE id = ?",
                      [*building_set.values(), before.building_id])
            else:
                befores = {code: before}
            unit_set["valid_from"] = _today(at)
            s.run(f"UPDATE units SET {', '.join(f'{k} = ?' for k in unit_set)} WHERE postcode = ?",
                  [*unit_set.values(), code])
            if building_set:
                s.run("UPDATE units SET valid_from = ? WHERE building_id = ? AND status = 'active'",
                      [_today(at), before.building_id])
            seq = 0
            for c in touched:
                seq = changelog.record(s, ChangeKind.UPDATE, c, befores[c], actor, reason, at)
            return EditResult(before.building_id, [from_int(c) for c in touched], seq)

    def move(self, postcode: str | int, building_id: int, actor: Actor = CLI_ACTOR,
             reason: Reason = Reason("correction")) -> EditResult:
        """The unit now belongs to another building (its postcode stays)."""
        code = _postcode(postcode)
        with self.store.transaction() as s:
            before = self._active(s, code)
            if not s.rows("SELECT 1 FROM buildings WHERE id = ?", [building_id]):
                raise not_found("building", building_id)
            at = changelog.now()
            s.run("UPDATE units SET building_id = ?, valid_from = ? WHERE postcode = ?",
                  [building_id, _today(at), code])
            seq = changelog.record(s, ChangeKind.MOVE, code, before, actor, reason, at)
            return EditResult(building_id, [from_int(code)], seq)

    def split(self, postcode: str | int, parts: Sequence[dict[str, Any]], actor: Actor = CLI_ACTOR,
              reason: Reason = Reason("split")) -> EditResult:
        """Split a unit into ``parts`` (two or more): the postcode keeps the first, the others get new ones."""
        code = _postcode(postcode)
        specs = unit_list(list(parts), "parts")
        if len(specs) < 2:
            raise EditError("too_few", "parts", message("edit.split_too_few"))
        with self.store.transaction() as s:
            before = self._active(s, code)
            assert before.building_id is not None
            at = changelog.now()
            floor, unit, usage = specs[0]
            s.run("UPDATE units SET floor = ?, unit = ?, usage = ?, valid_from = ? WHERE postcode = ?",
                  [floor, unit, usage, _today(at), code])
            changelog.record(s, ChangeKind.SPLIT, code, before, actor, reason, at)
            urban = before.locality_type == "شهر"
            added = self._add(s, before.building_id, Neighbour(before.building_id, urban), specs[1:], actor, reason)
            return EditResult(before.building_id, [from_int(code), *added.postcodes], added.change_seq)

    def merge(self, postcodes: Sequence[str | int], fields: dict[str, Any] | None = None, actor: Actor = CLI_ACTOR,
              reason: Reason = Reason("merge")) -> EditResult:
        """Merge units of one building into the first: it stays (with ``fields`` applied), the others retire."""
        codes = [_postcode(p) for p in postcodes]
        if len(set(codes)) < 2:
            raise EditError("too_few", "postcodes", message("edit.merge_too_few"))
        fields = dict(fields or {})
        unknown = sorted(set(fields) - set(UNIT_FIELDS))
        if unknown:
            raise EditError("unknown_field", unknown[0], message("edit.merge_field", allowed=list(UNIT_FIELDS)))
        with self.store.transaction() as s:
            befores = [self._active(s, c) for c in codes]
            if len({b.building_id for b in befores}) != 1:
                raise EditError("different_buildings", "postcodes", message("edit.merge_different_buildings"),
                                status=409)
            at = changelog.now()
            keep, *gone = codes
            sets = {"valid_from": _today(at), **unit_changes(fields)}
            s.run(f"UPDATE units SET {', '.join(f'{k} = ?' for k in sets)} WHERE postcode = ?", [*sets.values(), keep])
            changelog.record(s, ChangeKind.MERGE, keep, befores[0], actor, reason, at)
            note = Reason(reason.code, f"merged into {from_int(keep)}" + (f" — {reason.note}" if reason.note else ""))
            seq = 0
            for c, b in zip(gone, befores[1:], strict=True):
                s.run("UPDATE units SET status = 'retired', valid_to = ? WHERE postcode = ?", [_today(at), c])
                seq = changelog.record(s, ChangeKind.RETIRE, c, b, actor, note, at)
            return EditResult(befores[0].building_id, [from_int(keep)], seq, [from_int(c) for c in gone])

    def retire(self, postcode: str | int, actor: Actor = CLI_ACTOR, reason: Reason = Reason("other")) -> EditResult:
        """Retire a postcode: kept with its history, answered as retired, never issued again."""
        code = _postcode(postcode)
        with self.store.transaction() as s:
            before = self._active(s, code)
            at = changelog.now()
            s.run("UPDATE units SET status = 'retired', valid_to = ? WHERE postcode = ?", [_today(at), code])
            seq = changelog.record(s, ChangeKind.RETIRE, code, before, actor, reason, at)
            return EditResult(before.building_id, [], seq, [from_int(code)])

    @staticmethod
    def _active(s: EditSession, code: int) -> Any:
        a = changelog.current(s, code)
        if a.status != "active":
            raise EditError("retired", "postcode", message("edit.retired", postcode=from_int(code)), status=409)
        return a

    # -- reading the log -----------------------------------------------------------------------------------

    def history(self, postcode: str | int) -> list[dict[str, Any]]:
        """The unit's versions, oldest first."""
        code = _postcode(postcode)
        with self.store.transaction() as s:
            return changelog.history(s, code)

    def changes(self, since: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """The change feed after ``since``, oldest first."""
        with self.store.transaction() as s:
            return changelog.changes_since(s, max(0, since), max(1, min(limit, 10_000)))

    def last_seq(self) -> int:
        """The number of the last change (0 before the first)."""
        with self.store.transaction() as s:
            return changelog.last_seq(s)
