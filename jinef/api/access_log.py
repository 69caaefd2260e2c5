"""The access log: one JSON line per request, for log shippers and ``tail -f`` (``JINEF_ACCESS_LOG``).

A line holds when, which request and worker, the method, the route's template (``/v1/postcodes/{postcode}``, never
the raw path, which can carry a postcode or a typed address), the status, the latency and the organisation's name.
Never a key, a query, a national code, a mobile or a one-time code: those are not even handed to it. It is written
from the same record as the service's call audit (:class:`jinef.api.servicedb.AuditRecord`), after the answer.

Off by default: the call audit in the service database already records every call (and `/metrics` sums it up),
so a second record costs every request a write that only some operators want.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

import orjson

from jinef.api.servicedb import AuditRecord
from jinef.common.fileperm import create_private

STDERR = "-"


class AccessLog:
    """Appends one JSON line per request to a file (created 0600; safe for many workers: one O_APPEND write per
    line) or to standard error."""

    def __init__(self, target: str) -> None:
        self.target = target
        if target == STDERR:
            self._fd = sys.stderr.fileno()
        else:
            create_private(target)  # organisations' names and traffic: not for every local user
            self._fd = os.open(target, os.O_WRONLY | os.O_APPEND)

    def write(self, record: AuditRecord) -> None:
        """Log one request (its audit record, less the key id, item count and outcome)."""
        line = orjson.dumps({
            "time": datetime.fromtimestamp(record.ts, UTC).isoformat(timespec="milliseconds"),
            "request_id": record.request_id, "worker": record.worker, "method": record.method,
            "path": record.endpoint, "status": record.status, "latency_ms": record.latency_ms, "org": record.org,
        }) + b"\n"
        os.write(self._fd, line)

    def close(self) -> None:
        """Close the file (standard error stays open)."""
        if self.target != STDERR:
            os.close(self._fd)


def open_access_log(target: str | None) -> AccessLog | None:
    """The access log ``target`` names (``-``: standard error; a path; empty or None: no log)."""
    return AccessLog(target) if target else None
