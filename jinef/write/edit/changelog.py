"""The change log: every edit of a unit as one numbered record, the feed and the history read from it.

Sequence numbers are given out under the edit lock as one more than the last, so the feed is ordered by
commit and has no gap; a consumer asks for what came after the last number it applied. The log lives in the
registry (table ``changes``); a replacing build or import starts a new registry, and its log, under a new
generation, which the feed reports so a consumer knows to start over.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from jinef.model.address import Address
from jinef.model.change import Actor, ChangeKind, Reason
from jinef.model.postcode import from_int
from jinef.write.edit.errors import not_found
from jinef.write.edit.session import EditSession
from jinef.write.store.query import ADDRESS_SELECT, row_to_address

_COLUMNS = "seq, at, kind, postcode, unit_id, building_id, record, before, org, key_id, reason, note, request_id"


def now() -> str:
    """The time of a change: UTC, ISO 8601 to the microsecond (orders versions made in one second)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def current(s: EditSession, postcode: int) -> Address:
    """The unit's address as the registry holds it now (any status)."""
    rows = s.rows(ADDRESS_SELECT + " WHERE u.postcode = ?", [postcode])
    if not rows:
        raise not_found("postcode", from_int(postcode))
    return row_to_address(rows[0])


def record(s: EditSession, kind: ChangeKind, postcode: int, before: Address | None, actor: Actor, reason: Reason,
           at: str) -> int:
    """Log one change of ``postcode`` (its address read after the change) and return its sequence number."""
    after = current(s, postcode)
    seq = int(s.rows("SELECT COALESCE(MAX(seq), 0) + 1 FROM changes")[0][0])
    s.run(f"INSERT INTO changes ({_COLUMNS}) VALUES ({', '.join('?' * 13)})",
          [seq, at, kind.value, postcode, after.id, after.building_id, json.dumps(after.as_dict(), ensure_ascii=False),
           None if before is None else json.dumps(before.as_dict(), ensure_ascii=False), actor.org, actor.key_id,
           reason.code, reason.note, actor.request_id])
    return seq


def _change(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"seq": int(row[0]), "at": row[1], "kind": row[2], "postcode": from_int(int(row[3])),
            "building_id": row[5], "address": json.loads(row[6]), "org": row[8], "key_id": row[9],
            "reason": row[10], "note": row[11] or "", "request_id": row[12]}


def changes_since(s: EditSession, since: int, limit: int) -> list[dict[str, Any]]:
    """Changes numbered after ``since``, oldest first, at most ``limit``."""
    rows = s.rows(f"SELECT {_COLUMNS} FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", [since, limit])
    return [_change(r) for r in rows]


def last_seq(s: EditSession) -> int:
    """The number of the last change (0 before the first)."""
    return int(s.rows("SELECT COALESCE(MAX(seq), 0) FROM changes")[0][0])


def history(s: EditSession, postcode: int) -> list[dict[str, Any]]:
    """The unit's versions, oldest first: as registered (built or imported), then one per change.

    Each version is valid from its change until the next one (``valid_to`` None for the current version).
    """
    rows = s.rows(f"SELECT {_COLUMNS} FROM changes WHERE postcode = ? ORDER BY seq", [postcode])
    versions: list[dict[str, Any]] = []
    if not rows or rows[0][2] != ChangeKind.CREATE.value:
        first = json.loads(rows[0][7]) if rows and rows[0][7] else current(s, postcode).as_dict()
        versions.append({"version": 1, "kind": "registered", "valid_from": first.get("valid_from"),
                         "valid_to": None, "change_seq": None, "org": None, "key_id": None, "reason": None,
                         "note": "", "request_id": None, "address": first})
    for r in rows:
        c = _change(r)
        versions.append({"version": len(versions) + 1, "kind": c["kind"], "valid_from": c["at"], "valid_to": None,
                         "change_seq": c["seq"], "org": c["org"], "key_id": c["key_id"], "reason": c["reason"],
                         "note": c["note"], "request_id": c["request_id"], "address": c["address"]})
    for older, newer in pairwise(versions):
        older["valid_to"] = newer["valid_from"]
    return versions
