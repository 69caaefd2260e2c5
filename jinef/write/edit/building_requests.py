"""The provincial office's workflow for a new building: request → field survey → approval → postcodes.

A builder or citizen asks for postcodes for a new building (its address parts, point and units); a field agent
surveys it (position, plate, unit count and labels, a photo reference); an operator of that province approves
it, which registers the building and allocates its postcodes in the same transaction (or rejects it, with a
reason). Each step is kept on the request with who, when and from which call; the service's audit log records
the calls themselves. A key bound to a province acts only on that province's requests, and an approval needs
such a key: the national office does not approve for a province.
"""

from __future__ import annotations

import json
from typing import Any

from jinef.common.messages import message
from jinef.model.change import Actor, Reason
from jinef.write.edit import changelog
from jinef.write.edit.editor import RegistryEditor, check_building
from jinef.write.edit.errors import EditError, not_found
from jinef.write.edit.resolve import locality_of
from jinef.write.edit.session import EditSession
from jinef.write.edit.units import coordinate, short_text, unit_list

APPLICANTS = ("builder", "citizen")
REQUESTED, SURVEYED, APPROVED, REJECTED = "requested", "surveyed", "approved", "rejected"
_COLUMNS = "id, status, province_code, applicant, request, survey, steps, building_id, postcodes, updated"


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    return {"id": int(r[0]), "status": r[1], "province_code": r[2], "applicant": r[3], "request": json.loads(r[4]),
            "survey": json.loads(r[5]) if r[5] else None, "steps": json.loads(r[6]),
            "building_id": r[7], "postcodes": json.loads(r[8]) if r[8] else [], "updated": r[9]}


def _step(name: str, actor: Actor, at: str, note: str = "") -> dict[str, Any]:
    return {"step": name, "at": at, "org": actor.org, "key_id": actor.key_id, "request_id": actor.request_id,
            "note": note}


class BuildingRequests:
    """The workflow over one registry's editor (same store, same serialised transactions)."""

    def __init__(self, editor: RegistryEditor) -> None:
        self.editor = editor

    def submit(self, parts: dict[str, Any], units: list[dict[str, Any]], applicant: str,
               actor: Actor) -> dict[str, Any]:
        """A new request for a building's postcodes (checked now: the place must exist, the units be valid)."""
        if applicant not in APPLICANTS:
            raise EditError("unknown_value", "applicant", message("edit.applicant_unknown"))
        check_building(parts, units)
        with self.editor.store.transaction() as s:
            _, _, province = locality_of(s, parts)
            self._check_province(actor, province, approving=False)
            at = changelog.now()
            new_id = int(s.rows("SELECT COALESCE(MAX(id), 0) + 1 FROM building_requests")[0][0])
            s.run(f"INSERT INTO building_requests ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, NULL, ?)",
                  [new_id, REQUESTED, province, applicant, json.dumps({"parts": parts, "units": units},
                                                                      ensure_ascii=False),
                   json.dumps([_step(REQUESTED, actor, at)], ensure_ascii=False), at])
            return self._get(s, new_id)

    def survey(self, request_id: int, survey: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """A field agent's survey: position, plate, units (labels, floors, usage) and a photo reference."""
        found: dict[str, Any] = {
                 "lat": coordinate(survey.get("lat"), "lat"), "lon": coordinate(survey.get("lon"), "lon"),
                 "plate": short_text(survey.get("plate"), "plate"),
                 "photo_ref": short_text(survey.get("photo_ref"), "photo_ref"),
                 "note": short_text(survey.get("note"), "note")}
        units = survey.get("units")
        unit_list(units if isinstance(units, list) else [], "units")  # checked; kept as the agent wrote them
        found["units"] = units
        with self.editor.store.transaction() as s:
            r = self._get(s, request_id)
            self._check_province(actor, r["province_code"], approving=False)
            self._check_status(r, (REQUESTED, SURVEYED), "surveyed")
            at = changelog.now()
            self._update(s, r, SURVEYED, _step(SURVEYED, actor, at, found["note"]), at, survey=found)
            return self._get(s, request_id)

    def approve(self, request_id: int, actor: Actor, note: str = "") -> dict[str, Any]:
        """Approve a surveyed request: the building is registered as surveyed and its units get postcodes."""
        with self.editor.store.transaction() as s:
            r = self._get(s, request_id)
            self._check_province(actor, r["province_code"], approving=True)
            self._check_status(r, (SURVEYED,), "approved")
            survey = r["survey"]
            parts = {**r["request"]["parts"], "lat": survey["lat"], "lon": survey["lon"]}
            if survey.get("plate"):
                parts["plate"] = survey["plate"]
            b = check_building(parts, survey["units"])
            done = self.editor.create_in(s, b, actor, Reason("new_building", f"building request {request_id}"))
            at = changelog.now()
            self._update(s, r, APPROVED, _step(APPROVED, actor, at, note), at, building_id=done.building_id,
                         postcodes=done.postcodes)
            out = self._get(s, request_id)
            out["change_seq"] = done.change_seq
            return out

    def reject(self, request_id: int, actor: Actor, reason: str) -> dict[str, Any]:
        """Reject a request that is not yet approved, saying why."""
        if not reason.strip():
            raise EditError("missing", "reason", message("edit.rejection_needs_reason"))
        with self.editor.store.transaction() as s:
            r = self._get(s, request_id)
            self._check_province(actor, r["province_code"], approving=True)
            self._check_status(r, (REQUESTED, SURVEYED), "rejected")
            at = changelog.now()
            self._update(s, r, REJECTED, _step(REJECTED, actor, at, short_text(reason, "reason")), at)
            return self._get(s, request_id)

    def get(self, request_id: int, actor: Actor | None = None) -> dict[str, Any]:
        """One request (a province-bound key sees only its province's)."""
        with self.editor.store.transaction() as s:
            r = self._get(s, request_id)
        if actor is not None:
            self._check_province(actor, r["province_code"], approving=False)
        return r

    def queue(self, actor: Actor, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Requests waiting in the actor's province (every province for a national key), oldest first."""
        where, args = [], []
        if actor.province is not None:
            where.append("province_code = ?")
            args.append(actor.province)
        if status:
            where.append("status = ?")
            args.append(status)
        sql = f"SELECT {_COLUMNS} FROM building_requests {'WHERE ' + ' AND '.join(where) if where else ''} " \
              "ORDER BY id LIMIT ?"
        with self.editor.store.transaction() as s:
            return [_row(r) for r in s.rows(sql, [*args, max(1, min(limit, 1000))])]

    @staticmethod
    def _get(s: EditSession, request_id: int) -> dict[str, Any]:
        rows = s.rows(f"SELECT {_COLUMNS} FROM building_requests WHERE id = ?", [request_id])
        if not rows:
            raise not_found("request", request_id)
        return _row(rows[0])

    @staticmethod
    def _update(s: EditSession, r: dict[str, Any], status: str, step: dict[str, Any], at: str,
                survey: dict[str, Any] | None = None, building_id: int | None = None,
                postcodes: list[str] | None = None) -> None:
        s.run("UPDATE building_requests SET status = ?, steps = ?, updated = ?, survey = COALESCE(?, survey), "
              "building_id = COALESCE(?, building_id), postcodes = COALESCE(?, postcodes) WHERE id = ?",
              [status, json.dumps([*r["steps"], step], ensure_ascii=False), at,
               None if survey is None else json.dumps(survey, ensure_ascii=False), building_id,
               None if postcodes is None else json.dumps(postcodes), r["id"]])

    @staticmethod
    def _check_status(r: dict[str, Any], allowed: tuple[str, ...], to: str) -> None:
        if r["status"] not in allowed:
            raise EditError("wrong_state", "status",
                            message("edit.request_wrong_state", id=r["id"], status=r["status"], to=to), status=409)

    @staticmethod
    def _check_province(actor: Actor, province: str, approving: bool) -> None:
        if actor.province is None and approving:
            raise EditError("not_province_bound", "key", message("edit.approval_needs_province_key"), status=403)
        if actor.province is not None and actor.province != province:
            raise EditError("other_province", "province",
                            message("edit.other_province", own=actor.province, asked=province), status=403)
