"""Tamper-evident audit log: an append-only hash chain, its checker, and a group-commit writer.

Each record's hash is ``SHA-256(previous hash ‖ canonical record)``, where the canonical
record is a compact UTF-8 JSON array: a format tag, then time (UTC, ISO 8601 with
microseconds), organisation, action, purpose, outcome, trace id and subject. The first record
chains to :data:`GENESIS`. Order is proven by the links, not by the sequence numbers, so the
checker can tell an edited record (its own hash is wrong) from a deleted one (it links to a
record that is gone) and from a reordered one (it links to a record that is elsewhere). The
last record's sequence number and hash are also kept as a head (updated in the same
transaction) so that cutting records off the end is detected; an attacker who can rewrite
the head too is caught only against a head published elsewhere (``jinef audit verify
--expect-head``), which is the usual limit of a hash chain.

Durability: a match is answered only after its record is committed. The
:class:`AuditWriter` lets many concurrent callers share one commit ("group commit"): while
one transaction is being made durable, new records queue up and go in the next one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinef.common.messages import DEFAULT_LANGUAGE, Message, MessageError, message
from jinef.read.verify.combine import Combiner
from jinef.read.verify.errors import AuditUnavailable
from jinef.read.verify.store import HEAD_MISSING_ACTION, AuditEntry, AuditRow, UnreadableAuditRecord, VerifyStore

GENESIS = bytes(32)

KIND_EDITED = "edited"
KIND_DELETED = "deleted"
KIND_REORDERED = "reordered"
KIND_TRUNCATED = "truncated"
KIND_HEAD_MISMATCH = "head_mismatch"
KIND_HEAD_MISSING = "head_missing"  # the stored head row is gone (alone, or with the last records)
KIND_UNREADABLE = "unreadable"  # a field was edited into something that cannot be read


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
CANONICAL_VERSION = "jinef-audit-v1"
_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f]*\Z')


@functools.lru_cache(maxsize=4096)
def ts_text(ts: datetime) -> str:
    """A record's time as stored and hashed: UTC, ISO 8601 with microseconds (cached: used twice)."""
    return (ts if ts.tzinfo is UTC else ts.astimezone(UTC)).isoformat(timespec="microseconds")


def canonical(entry: AuditEntry) -> bytes:
    """The exact bytes a record's hash covers: a JSON array of the fields in a fixed order."""
    fields = [
        CANONICAL_VERSION,
        ts_text(entry.ts),
        entry.org,
        entry.action,
        entry.purpose,
        entry.outcome,
        entry.trace_id,
        entry.subject,
    ]
    if _PLAIN.match("".join(fields)):
        # Nothing to escape (the usual case: identifiers, hex, ISO time): same bytes as the encoder's.
        return ('["' + '","'.join(fields) + '"]').encode("utf-8")
    return _ENCODER.encode(fields).encode("utf-8")


def chain_hash(prev_hash: bytes, entry: AuditEntry) -> bytes:
    """The hash of a record that follows a record hashed ``prev_hash``."""
    return hashlib.sha256(prev_hash + canonical(entry)).digest()


def chain(entries: Sequence[AuditEntry], head: tuple[int, bytes] | None) -> list[AuditRow]:
    """Number and chain new entries after ``head`` (None for an empty log)."""
    seq, prev = head if head is not None else (0, GENESIS)
    rows: list[AuditRow] = []
    for entry in entries:
        seq += 1
        h = chain_hash(prev, entry)
        rows.append(AuditRow(seq, entry, prev, h))
        prev = h
    return rows


def chain_after_head(entries: Sequence[AuditEntry], head: tuple[int, bytes] | None,
                     last: Callable[[], tuple[int, bytes] | None]) -> list[AuditRow]:
    """Chain entries after the stored ``head``; with no head, after the ``last()`` stored record. Records but no
    head means someone deleted it (perhaps with the last records): re-creating it silently would hide that for
    good, so a record saying so goes in first, in the chain (both engines append this way)."""
    if entries and head is None:
        head = last()
        if head is not None:
            first = entries[0]
            entries = [AuditEntry(first.ts, "system", HEAD_MISSING_ACTION, "audit_integrity", f"after:{head[0]}",
                                  first.trace_id, ""), *entries]
    return chain(entries, head)


_AUDIT_TEXT_FIELDS = ("org", "action", "purpose", "outcome", "trace_id", "subject")


def read_audit_row(row: tuple[Any, ...]) -> AuditRow:
    """A stored record, every field checked: a tampered one raises UnreadableAuditRecord naming it."""
    seq = row[0]
    if type(row[1]) is not str:
        raise UnreadableAuditRecord(seq, "ts", message("audit.unreadable.not_text", type=type(row[1]).__name__))
    try:
        ts = datetime.fromisoformat(row[1])
    except ValueError:
        not_a_time = message("audit.unreadable.not_a_time", standard="ISO 8601", text=repr(row[1][:40]))
        raise UnreadableAuditRecord(seq, "ts", not_a_time) from None
    if ts.tzinfo is None:
        raise UnreadableAuditRecord(seq, "ts", message("audit.unreadable.no_time_zone", text=repr(row[1][:40])))
    for name, value in zip(_AUDIT_TEXT_FIELDS, row[2:8], strict=True):
        if type(value) is not str:
            raise UnreadableAuditRecord(seq, name, message("audit.unreadable.not_text", type=type(value).__name__))
    for name, value in (("prev_hash", row[8]), ("hash", row[9])):
        if type(value) is not bytes or len(value) != 32:
            raise UnreadableAuditRecord(seq, name, message("audit.unreadable.not_a_hash", size=32))
    entry = AuditEntry(ts, row[2], row[3], row[4], row[5], row[6], row[7])
    return AuditRow(seq=seq, entry=entry, prev_hash=row[8], hash=row[9])


@dataclass(frozen=True, slots=True)
class AuditIssue:
    """The first bad record found: its sequence number, what is wrong, and in words (either language)."""

    seq: int
    kind: str
    text: Message

    @property
    def message(self) -> str:
        """What is wrong, in English (the JSON report's words, which monitors read)."""
        return self.text.text(DEFAULT_LANGUAGE)


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of checking the whole chain."""

    records: int
    head_seq: int
    head_hash: str
    issue: AuditIssue | None = None

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return self.issue is None

    def as_dict(self) -> dict[str, object]:
        """JSON form for the CLI."""
        issue = None
        if self.issue is not None:
            issue = {"seq": self.issue.seq, "kind": self.issue.kind, "message": self.issue.message}
        return {
            "ok": self.ok,
            "records": self.records,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "issue": issue,
        }


def parse_head(text: str) -> tuple[int, bytes]:
    """Read a published head ``<seq>:<hex hash>`` (what ``jinef audit verify`` prints)."""
    seq, sep, hexhash = text.strip().partition(":")
    try:
        if not sep:
            raise ValueError(text)
        return int(seq), bytes.fromhex(hexhash)
    except ValueError as exc:
        raise MessageError(message("audit.head_form", form="<seq>:<hex hash>")) from exc


def verify_chain(
    rows: Iterable[AuditRow],
    head: tuple[int, bytes] | None,
    expect_head: tuple[int, bytes] | None = None,
    all_hashes: Iterable[bytes] | None = None,
) -> AuditReport:
    """Walk the chain in sequence order and name the first bad record.

    ``head`` is the stored anchor; ``expect_head`` one published earlier, which must still be
    in the chain at its place. ``all_hashes`` (every stored hash) lets a broken link be told
    apart as reordered (it points at a record that exists elsewhere) or deleted (it points at
    nothing); it is only read when a link is broken.
    """
    prev = GENESIS
    last_seq = 0
    count = 0
    issue: AuditIssue | None = None
    for row in _readable(rows):
        if isinstance(row, UnreadableAuditRecord):
            issue = AuditIssue(row.seq, KIND_UNREADABLE, row.text)
            break
        count += 1
        if chain_hash(row.prev_hash, row.entry) != row.hash:
            issue = AuditIssue(row.seq, KIND_EDITED, message("audit.issue.edited", seq=row.seq))
            break
        if row.prev_hash != prev:
            if row.prev_hash in set(all_hashes or ()):
                issue = AuditIssue(row.seq, KIND_REORDERED, message("audit.issue.reordered", seq=row.seq))
            elif row.seq > last_seq + 1:
                gone = message("audit.issue.deleted", seq=last_seq + 1) if row.seq == last_seq + 2 else \
                    message("audit.issue.deleted_range", first=last_seq + 1, last=row.seq - 1)
                issue = AuditIssue(last_seq + 1, KIND_DELETED, gone)
            else:
                issue = AuditIssue(row.seq, KIND_DELETED, message("audit.issue.predecessor_missing", seq=row.seq))
            break
        if row.seq != last_seq + 1:
            # Links intact but a number skipped: the sequence number itself was edited.
            issue = AuditIssue(row.seq, KIND_EDITED, message("audit.issue.sequence_edited", seq=row.seq))
            break
        if expect_head is not None and row.seq == expect_head[0] and row.hash != expect_head[1]:
            issue = AuditIssue(row.seq, KIND_HEAD_MISMATCH, message("audit.issue.published_head_differs",
                                                                    seq=row.seq))
            break
        if row.entry.action == HEAD_MISSING_ACTION:
            issue = AuditIssue(row.seq, KIND_HEAD_MISSING, message("audit.issue.head_was_missing", seq=row.seq,
                                                                   before=row.seq - 1))
            break
        prev, last_seq = row.hash, row.seq
    if issue is None and head is None and count:
        issue = AuditIssue(last_seq, KIND_HEAD_MISSING, message("audit.issue.head_missing", count=count))
    if issue is None:
        for anchor, what in ((head, "stored"), (expect_head, "published")):
            if anchor is None:
                continue
            if anchor[0] > last_seq:
                issue = AuditIssue(last_seq + 1, KIND_TRUNCATED, message(
                    "audit.issue.truncated", first=last_seq + 1, last=anchor[0], head=message(f"audit.head.{what}")))
                break
            if what == "stored" and (anchor[0] != last_seq or anchor[1] != prev):
                issue = AuditIssue(anchor[0], KIND_HEAD_MISMATCH, message("audit.issue.head_mismatch"))
                break
    return AuditReport(count, last_seq, prev.hex(), issue)


def _readable(rows: Iterable[AuditRow]) -> Iterator[AuditRow | UnreadableAuditRecord]:
    """The rows, ending with the error of the first one that cannot be read (instead of raising it)."""
    it = iter(rows)
    while True:
        try:
            row = next(it)
        except StopIteration:
            return
        except UnreadableAuditRecord as exc:
            yield exc
            return
        yield row


def verify_store(store: VerifyStore, expect_head: str | None = None) -> AuditReport:
    """Check the chain stored in ``store`` (optionally against a head published earlier)."""
    published = parse_head(expect_head) if expect_head else None
    return verify_chain(store.audit_rows(), store.audit_head(), published, all_hashes=_LazyHashes(store))


class _LazyHashes:
    """Reads every stored hash only if the checker needs them (a broken link)."""

    def __init__(self, store: VerifyStore) -> None:
        self._store = store

    def __iter__(self) -> Iterator[bytes]:
        return (row.hash for row in self._store.audit_rows())


class AuditWriter:
    """Appends audit records; with ``group_commit`` concurrent callers share transactions.

    :meth:`write` returns only once the records are committed (durable to the level the
    store's ``synchronous`` setting gives), or raises :class:`AuditUnavailable`. Grouping is
    flat combining (see ``combine.py``): one caller commits everyone's records at once.
    """

    def __init__(self, store: VerifyStore, *, group_commit: bool = True) -> None:
        self._store = store
        self._combiner: Combiner[list[AuditEntry], None] | None = None
        if group_commit:
            self._combiner = Combiner(self._commit_many)
        self._closed = False

    def write(self, entries: Sequence[AuditEntry]) -> None:
        """Append ``entries`` (in order) and wait until they are committed."""
        if not entries:
            return
        if self._closed:
            raise AuditUnavailable("the audit writer is closed")
        if self._combiner is None:
            self.commit_now(entries)
            return
        try:
            self._combiner.submit(list(entries))
        except AuditUnavailable:
            raise
        except Exception as exc:
            raise AuditUnavailable("the audit log could not be written; no answer is given") from exc

    def commit_now(self, entries: Sequence[AuditEntry]) -> None:
        """Append ``entries`` in a transaction of their own, in this thread (already grouped callers)."""
        if not entries:
            return
        try:
            with self._store.transaction() as tx:
                tx.append_audit(entries)
        except Exception as exc:
            raise AuditUnavailable("the audit log could not be written; no answer is given") from exc

    def _commit_many(self, items: list[list[AuditEntry]]) -> list[None]:
        self.commit_now([e for item in items for e in item])
        return [None] * len(items)

    def close(self) -> None:
        """Refuse new records; records already handed in are committed by their callers."""
        self._closed = True
