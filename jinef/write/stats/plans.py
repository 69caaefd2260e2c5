"""Operational plans and dated snapshots: a province's targets and the trajectory of its figures towards them.

Both live in a small SQLite file beside the registry (``<registry>.dashboard.sqlite``; for a PostgreSQL registry
in the state folder, like the service database), not in the registry store: a replacing build or import starts
a new registry, while an office's plans and the history of its figures go on. A snapshot stores every scalar
measure of every province and county at one moment, with the registry generation and change number it was
computed on; a plan's progress is its measure's value in each snapshot of its province, against its target.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jinef.common.config import RegistryLocation
from jinef.common.fileperm import create_private
from jinef.common.messages import MessageError, message
from jinef.write.stats.compute import Dashboard
from jinef.write.stats.jalali import jalali, parse_jalali, tehran_day
from jinef.write.stats.measures import PLANNABLE_KEYS, SCALAR_KEYS, measure

_SCHEMA = """
CREATE TABLE IF NOT EXISTS plans (
    id INTEGER PRIMARY KEY,
    province_code TEXT NOT NULL,
    measure TEXT NOT NULL,
    target REAL NOT NULL,
    deadline_jalali TEXT NOT NULL,   -- as the office wrote it, normalised to YYYY-MM-DD
    deadline TEXT NOT NULL,          -- the same day, Gregorian ISO
    note TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (province_code, measure, deadline)
);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY,
    taken_at TEXT NOT NULL,          -- UTC ISO
    generation TEXT NOT NULL,
    change_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot_values (
    snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
    level TEXT NOT NULL,             -- province | county
    code TEXT NOT NULL,
    measure TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (snapshot_id, level, code, measure)
);
CREATE INDEX IF NOT EXISTS snapshot_values_trajectory ON snapshot_values (level, code, measure, snapshot_id);
"""


def dashboard_db_path(location: RegistryLocation | str | os.PathLike[str] | None = None) -> Path:
    """Where the plans and snapshots of the registry at ``location`` live: beside its service database."""
    return dashboard_db_beside(RegistryLocation.of(location).service_db)


def dashboard_db_beside(service_db: str | os.PathLike[str]) -> Path:
    """The plans' and snapshots' database beside a service database (``x.service.sqlite`` → ``x.dashboard.sqlite``)."""
    svc = Path(service_db)
    stem = svc.name.removesuffix(".sqlite").removesuffix(".service")
    return svc.with_name(f"{stem}.dashboard.sqlite")


@dataclass(frozen=True, slots=True)
class Plan:
    """One target of a province's office."""

    id: int
    province_code: str
    measure: str
    target: float
    deadline_jalali: str
    deadline: str
    note: str
    created: str
    created_by: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"id": self.id, "province_code": self.province_code, "measure": self.measure, "target": self.target,
                "deadline_jalali": self.deadline_jalali, "deadline": self.deadline, "note": self.note,
                "created": self.created, "created_by": self.created_by}


class PlanStore:
    """Plans and snapshots in one SQLite file (every process may open it; writes are short transactions)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        create_private(self.path)
        self.conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA busy_timeout=30000")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        """Release the connection."""
        self.conn.close()

    def __enter__(self) -> PlanStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plans --------------------------------------------------------------------------------------------

    def set_plan(self, province_code: str, measure_key: str, target: float, deadline_jalali: str,
                 note: str = "", created_by: str = "cli", provinces: set[str] | None = None) -> Plan:
        """Set (or replace) a province's target for a measure by a Solar Hijri deadline; checked, then stored."""
        m = measure(measure_key)
        if m.key not in PLANNABLE_KEYS:
            raise MessageError(message("stats.plan.measure", measure=m.key, allowed=list(PLANNABLE_KEYS)))
        if provinces is not None and province_code not in provinces:
            raise MessageError(message("stats.plan.province", province=province_code))
        target = float(target)
        if not target >= 0 or (m.kind == "share" and target > 1):
            kind = "share" if m.kind == "share" else "amount"
            raise MessageError(message(f"stats.plan.target_{kind}", target=target, measure=m.key))
        day = parse_jalali(deadline_jalali)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "INSERT INTO plans (province_code, measure, target, deadline_jalali, deadline, note, created, "
                "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (province_code, measure, deadline) DO "
                "UPDATE SET target = excluded.target, note = excluded.note, created = excluded.created, "
                "created_by = excluded.created_by",
                (province_code, m.key, target, jalali(day), day.isoformat(), note, now, created_by))
        row = self.conn.execute("SELECT * FROM plans WHERE province_code = ? AND measure = ? AND deadline = ?",
                                (province_code, m.key, day.isoformat())).fetchone()
        return Plan(*row)

    def plans(self, province_code: str | None = None) -> list[Plan]:
        """Plans, of one province or all, by province, deadline and measure."""
        sql = "SELECT * FROM plans" + (" WHERE province_code = ?" if province_code else "")
        rows = self.conn.execute(sql + " ORDER BY province_code, deadline, measure",
                                 (province_code,) if province_code else ()).fetchall()
        return [Plan(*r) for r in rows]

    # -- snapshots ----------------------------------------------------------------------------------------

    def snapshot(self, board: Dashboard) -> int:
        """Store every scalar figure of ``board``; returns the snapshot's number."""
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            cur = self.conn.execute("INSERT INTO snapshots (taken_at, generation, change_seq) VALUES (?, ?, ?)",
                                    (board.computed_at, board.generation, board.change_seq))
            sid = int(cur.lastrowid or 0)
            self.conn.executemany(
                "INSERT INTO snapshot_values (snapshot_id, level, code, measure, value) VALUES (?, ?, ?, ?, ?)",
                [(sid, a.level, a.code, k, a.values.get(k))
                 for a in (*board.provinces, *board.counties) for k in SCALAR_KEYS])
        return sid

    def trajectory(self, level: str, code: str, measure_key: str) -> list[dict[str, Any]]:
        """The measure's value in each snapshot, oldest first: ``{snapshot, taken_at, day_jalali, value}``."""
        rows = self.conn.execute(
            "SELECT s.id, s.taken_at, v.value FROM snapshot_values v JOIN snapshots s ON s.id = v.snapshot_id "
            "WHERE v.level = ? AND v.code = ? AND v.measure = ? ORDER BY s.id", (level, code, measure_key))
        return [{"snapshot": sid, "taken_at": at, "day_jalali": jalali(tehran_day(datetime.fromisoformat(at))),
                 "value": value} for sid, at, value in rows]

    def progress(self, plan: Plan, today: date | None = None) -> dict[str, Any]:
        """A plan with its trajectory, its latest value and the share of its target reached."""
        points = self.trajectory("province", plan.province_code, plan.measure)
        latest = next((p["value"] for p in reversed(points) if p["value"] is not None), None)
        today = today or tehran_day(datetime.now(UTC))
        reached = None if latest is None else (round(latest / plan.target, 6) if plan.target else 1.0)
        return {**plan.as_dict(), "latest": latest, "reached": reached,
                "days_left": (date.fromisoformat(plan.deadline) - today).days, "trajectory": points}
