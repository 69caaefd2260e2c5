"""Enumeration detection for the match service: distinct-value counters over sliding windows.

An organisation that asks many *different* national codes about one postcode is trying to
find who lives there; one that asks one national code about many postcodes is trying to find
where someone lives. Both are counted per organisation over a sliding window; asking the same
pair again does not count twice. Crossing a threshold refuses the query, blocks that
organisation on that postcode (or that code) for a while, and raises an alert. An
organisation that raises several alerts within an hour is blocked altogether.

The counters are in process memory (fast, lock-protected) and know a national code only by a
fingerprint of its keyed hash. They are shared through the database: every counted query is
written (:class:`jinef.verify.store.Seen`) in the same transaction as its audit record, and
before judging a group of queries a process takes in what the other processes counted and the
alerts they raised since its last look (:meth:`SlidingWindowDetector.absorb`, :meth:`restore`).
Judging and recording happen under the hub's write lock, so several worker processes count as
one: a threshold is a threshold however many processes serve the hub, and a restart keeps the
window's counts as well as the blocks (a key rotation does lift per-code counts and blocks: the
fingerprints change).
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from jinef.slots_init import slots_constructor
from jinef.verify.errors import EnumerationSuspected, OrganisationBlocked
from jinef.verify.keys import fingerprint
from jinef.verify.store import Alert, Seen

KIND_CODES_PER_POSTCODE = "codes_per_postcode"
KIND_POSTCODES_PER_CODE = "postcodes_per_code"
KIND_ORGANISATION = "organisation"


@dataclass(frozen=True, slots=True)
class AbuseConfig:
    """Thresholds of the enumeration detector (safe defaults; tune per deployment)."""

    window_seconds: int = 3600
    max_codes_per_postcode: int = 10  # distinct national codes one organisation asks about one postcode
    max_postcodes_per_code: int = 5  # distinct postcodes one organisation asks about one national code
    block_seconds: int = 3600  # how long the organisation stays refused on that postcode / code
    org_alerts_to_block: int = 3  # this many alerts within org_alert_window blocks the organisation
    org_alert_window_seconds: int = 3600
    org_block_seconds: int = 6 * 3600


_seen = slots_constructor(Seen)  # one per counted query (see jinef.slots_init)


_MASK = (1 << 64) - 1


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


class _DistinctWindow:
    """Per key, the items seen within the window, with when: how many distinct items a key has had.

    At national rates a window holds millions of keys, most with a single item, so nothing here is a
    Python object per sighting for long. Keys and items are 64-bit hashes and times integer
    milliseconds. Sightings older than the last fold sit in three numpy arrays sorted by key (24
    bytes a row, a key's rows found by binary search); newer ones in a dict, where a key with one
    item is one packed int (``time << 64 | item``). Every hundredth of a window the dict is folded into
    the arrays and rows older than the window are dropped. ``bench/match_bench.py`` prints the bytes
    per counted pair. Two keys or items whose hashes are equal (odds 2^-64 per pair) count as one.
    """

    def __init__(self) -> None:
        self._recent: dict[int, int | dict[int, int]] = {}
        self._set_arrays(np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, np.int64))

    def _set_arrays(self, keys: np.ndarray, items: np.ndarray, times: np.ndarray) -> None:
        self._keys, self._items, self._times = keys, items, times
        # Plain-int views for bisect: numpy's searchsorted on one value costs more than the search.
        self._key_view = keys.data.cast("B").cast("Q")
        self._item_view = items.data.cast("B").cast("Q")
        self._time_view = times.data.cast("B").cast("q")

    def count_with(self, key: tuple[str, str], item: str, since: int) -> int:
        """The distinct count in the window (from ``since`` ms on) if ``item`` were added now."""
        k = hash(key) & _MASK
        keys = self._key_view
        lo = bisect_left(keys, k)
        folded = lo < len(keys) and keys[lo] == k
        v = self._recent.get(k)
        if not folded and type(v) is not dict:  # the usual case: nothing, or one recent item
            if v is None or v >> 64 < since:  # type: ignore[operator]
                return 1
            return 1 if v & _MASK == hash(item) & _MASK else 2  # type: ignore[operator]
        found: set[int] = set()
        if folded:
            items, times = self._item_view, self._time_view
            found.update(items[j] for j in range(lo, bisect_right(keys, k, lo)) if times[j] >= since)
        if type(v) is int:
            if v >> 64 >= since:
                found.add(v & _MASK)
        elif v is not None:
            assert isinstance(v, dict)
            found.update(it for it, ts in v.items() if ts >= since)
        return len(found) + (0 if hash(item) & _MASK in found else 1)

    def add(self, key: tuple[str, str], item: str, now: int) -> None:
        """Record ``item`` as seen at ``now`` ms (an older sighting than the one kept changes nothing)."""
        k, i = hash(key) & _MASK, hash(item) & _MASK
        v = self._recent.get(k)
        if v is None:
            self._recent[k] = now << 64 | i
        elif type(v) is int:
            ts, it = v >> 64, v & _MASK
            if it != i:
                self._recent[k] = {it: ts, i: now}
            elif ts < now:
                self._recent[k] = now << 64 | i
        else:
            assert isinstance(v, dict)
            if v.get(i, -1) < now:
                v[i] = now

    def sweep(self, since: int) -> None:
        """Fold the recent sightings into the arrays and drop what is older than ``since`` (bounds memory)."""
        keep = self._times >= since
        keys, items, times = self._keys[keep], self._items[keep], self._times[keep]
        new_keys: list[int] = []
        new_items: list[int] = []
        new_times: list[int] = []
        for k, v in self._recent.items():
            for it, ts in ([(v & _MASK, v >> 64)] if type(v) is int else v.items()):  # type: ignore[union-attr]
                if ts >= since:
                    new_keys.append(k)
                    new_items.append(it)
                    new_times.append(ts)
        self._recent = {}
        if new_keys:
            nk = np.array(new_keys, np.uint64)
            order = np.argsort(nk, kind="stable")
            nk = nk[order]
            at = np.searchsorted(keys, nk, side="right")
            keys = np.insert(keys, at, nk)
            items = np.insert(items, at, np.array(new_items, np.uint64)[order])
            times = np.insert(times, at, np.array(new_times, np.int64)[order])
        self._set_arrays(keys, items, times)


class SlidingWindowDetector:
    """Counts, blocks and alerts; thread-safe. ``check`` returns the alerts it raised."""

    def __init__(self, config: AbuseConfig | None = None) -> None:
        self.config = config or AbuseConfig()
        self._lock = threading.Lock()
        self._by_postcode = _DistinctWindow()  # (org, postcode) -> national-code hashes
        self._by_code = _DistinctWindow()  # (org, national-code hash) -> postcodes
        self._blocks: dict[tuple[str, str, str], datetime] = {}  # (org, kind, subject) -> until
        self._org_alerts: dict[str, list[datetime]] = {}
        self._swept: datetime | None = None  # when keys that left the window were last dropped
        self._recorded: list[Seen] = []  # counted by check() and not yet taken for the database

    def restore(self, alerts: Iterable[Alert], now: datetime) -> None:
        """Re-impose blocks raised elsewhere (another process, or before a restart), and count their alerts."""
        horizon = now - timedelta(seconds=self.config.org_alert_window_seconds)
        with self._lock:
            for a in alerts:
                if a.blocked_until > now:
                    key = (a.org, a.kind, a.subject)
                    self._blocks[key] = max(a.blocked_until, self._blocks.get(key, a.blocked_until))
                if a.kind != KIND_ORGANISATION and a.ts > horizon:
                    self._org_alerts.setdefault(a.org, []).append(a.ts)

    def absorb(self, seen: Iterable[Seen]) -> None:
        """Count queries counted elsewhere (another process, or before a restart) as if checked here."""
        with self._lock:
            for x in seen:
                ts = _ms(x.ts)
                self._by_postcode.add((x.org, x.postcode), x.code, ts)
                self._by_code.add((x.org, x.code), x.postcode, ts)

    def take_recorded(self) -> list[Seen]:
        """The queries counted since the last call, for the caller to store."""
        with self._lock:
            taken, self._recorded = self._recorded, []
        return taken

    def check(self, org: str, nc_hash: bytes, postcode: str, now: datetime) -> None:
        """Count one query, or raise a MatchRefused subclass carrying a retry-after.

        When this query trips a threshold, the new alerts travel on the exception as
        ``exc.alerts`` so that the caller can store them (they are not part of the HTTP body).
        """
        cfg = self.config
        with self._lock:
            # Recent sightings are folded into the arrays, and expired ones dropped, a hundredth of a window
            # apart: each fold copies the arrays once (tens of milliseconds at a million pairs), and a
            # short interval keeps both the dict and the pause of each fold small.
            if self._swept is None or (now - self._swept).total_seconds() > cfg.window_seconds / 100:
                self._swept = now
                self._sweep(now)
            # A national code is known here only by a fingerprint of its hash (also what alerts show).
            code = "nc:" + fingerprint(nc_hash)
            self._refuse_if_blocked(org, code, postcode, now)
            now_ms = _ms(now)
            since = now_ms - cfg.window_seconds * 1000
            alerts: list[Alert] = []
            n_codes = self._by_postcode.count_with((org, postcode), code, since)
            if n_codes > cfg.max_codes_per_postcode:
                alerts.append(self._alert(org, KIND_CODES_PER_POSTCODE, postcode, n_codes, now))
            n_pcs = self._by_code.count_with((org, code), postcode, since)
            if n_pcs > cfg.max_postcodes_per_code:
                alerts.append(self._alert(org, KIND_POSTCODES_PER_CODE, code, n_pcs, now))
            if alerts:
                raise self._refusal(alerts, now)
            self._by_postcode.add((org, postcode), code, now_ms)
            self._by_code.add((org, code), postcode, now_ms)
            self._recorded.append(_seen(now, org, postcode, code))

    def _refuse_if_blocked(self, org: str, code: str, postcode: str, now: datetime) -> None:
        for key in (
            (org, KIND_ORGANISATION, ""),
            (org, KIND_CODES_PER_POSTCODE, postcode),
            (org, KIND_POSTCODES_PER_CODE, code),
        ):
            until = self._blocks.get(key)
            if until is None:
                continue
            if until <= now:
                del self._blocks[key]
                continue
            retry = max(1, int((until - now).total_seconds() + 0.999))
            if key[1] == KIND_ORGANISATION:
                raise OrganisationBlocked(
                    "this organisation is blocked after repeated enumeration alerts",
                    reason=KIND_ORGANISATION,
                    retry_after=retry,
                )
            raise EnumerationSuspected(_REASONS[key[1]], reason=key[1], retry_after=retry)

    def _alert(self, org: str, kind: str, subject: str, count: int, now: datetime) -> Alert:
        cfg = self.config
        until = now + timedelta(seconds=cfg.block_seconds)
        self._blocks[(org, kind, subject)] = until
        return Alert(None, now, org, kind, subject, count, cfg.window_seconds, until)

    def _refusal(self, alerts: list[Alert], now: datetime) -> EnumerationSuspected:
        cfg = self.config
        first = alerts[0]
        # Repeated alerts within the hour turn into a block of the whole organisation.
        horizon = now - timedelta(seconds=cfg.org_alert_window_seconds)
        recent = [t for t in self._org_alerts.get(first.org, []) if t > horizon]
        recent.append(now)
        self._org_alerts[first.org] = recent
        if len(recent) >= cfg.org_alerts_to_block:
            until = now + timedelta(seconds=cfg.org_block_seconds)
            self._blocks[(first.org, KIND_ORGANISATION, "")] = until
            alerts.append(
                Alert(
                    None,
                    now,
                    first.org,
                    KIND_ORGANISATION,
                    "",
                    len(recent),
                    cfg.org_alert_window_seconds,
                    until,
                )
            )
        retry = max(1, int((first.blocked_until - now).total_seconds()))
        exc = EnumerationSuspected(_REASONS[first.kind], reason=first.kind, retry_after=retry)
        exc.alerts = alerts
        return exc

    def _sweep(self, now: datetime) -> None:
        since = _ms(now) - self.config.window_seconds * 1000
        self._by_postcode.sweep(since)
        self._by_code.sweep(since)
        self._blocks = {k: v for k, v in self._blocks.items() if v > now}


_REASONS = {
    KIND_CODES_PER_POSTCODE: "too many different national codes were asked about this postcode",
    KIND_POSTCODES_PER_CODE: "too many different postcodes were asked about this national code",
}
