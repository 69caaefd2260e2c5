"""Enumeration detection for the match service: distinct-value counters over sliding windows.

An organisation that asks many *different* national codes about one postcode is trying to
find who lives there; one that asks one national code about many postcodes is trying to find
where someone lives. Both are counted per organisation over a sliding window; asking the same
pair again does not count twice. Crossing a threshold refuses the query, blocks that
organisation on that postcode (or that code) for a while, and raises an alert. An
organisation that raises several alerts within an hour is blocked altogether.

The same two counts are also kept across all organisations together, with their own (higher)
thresholds, so that several organisations sharing the work cannot each stay under their own limit:
a query that would take a postcode (or a code) past the cross-organisation limit is refused, and
one alert names every organisation that asked about it in the window (another alert follows when
an organisation not yet named joins in). Such an alert blocks no organisation and does not count
towards an organisation's own alerts: an organisation that asked once, legitimately, must not be
blocked for what others did. The subject stays closed to new codes (or postcodes) by the count
itself until the window moves on; pairs already asked are still answered.

The counters are in process memory (fast, lock-protected) and know a national code only by a
fingerprint of its keyed hash. They are shared through the database: every counted query is
written (:class:`jinef.read.verify.store.Seen`) in the same transaction as its audit record, and
before judging a group of queries a process takes in what the other processes counted and the
alerts they raised since its last look (:meth:`SlidingWindowDetector.absorb`, :meth:`restore`).
Judging and recording happen under the hub's write lock, so several worker processes count as
one: a threshold is a threshold however many processes serve the hub, and a restart keeps the
window's counts as well as the blocks (a key rotation does lift per-code counts and blocks: the
fingerprints change).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from jinef.model.slots_init import slots_constructor
from jinef.read.verify.errors import EnumerationSuspected, OrganisationBlocked
from jinef.read.verify.keys import fingerprint
from jinef.read.verify.store import Alert, Seen

KIND_CODES_PER_POSTCODE = "codes_per_postcode"
KIND_POSTCODES_PER_CODE = "postcodes_per_code"
KIND_ORGANISATION = "organisation"
KIND_CODES_PER_POSTCODE_ALL = "codes_per_postcode_all_orgs"
KIND_POSTCODES_PER_CODE_ALL = "postcodes_per_code_all_orgs"
_ALL_KINDS = (KIND_CODES_PER_POSTCODE_ALL, KIND_POSTCODES_PER_CODE_ALL)


@dataclass(frozen=True, slots=True)
class AbuseConfig:
    """Thresholds of the enumeration detector (safe defaults; tune per deployment)."""

    window_seconds: int = 3600
    max_codes_per_postcode: int = 10  # distinct national codes one organisation asks about one postcode
    max_postcodes_per_code: int = 5  # distinct postcodes one organisation asks about one national code
    block_seconds: int = 3600  # how long the organisation stays refused on that postcode / code
    # Across all organisations together: higher than one organisation's limits (several may rightly ask about
    # one household), low enough that a group of organisations learns at most twice what one may ask.
    max_codes_per_postcode_all_orgs: int = 20
    max_postcodes_per_code_all_orgs: int = 10
    org_alerts_to_block: int = 3  # this many alerts within org_alert_window blocks the organisation
    org_alert_window_seconds: int = 3600
    org_block_seconds: int = 6 * 3600


_seen = slots_constructor(Seen)  # one per counted query (see jinef.model.slots_init)


_MASK = (1 << 64) - 1


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


_STRIDE = 64


def _h(value: object) -> int:
    """A key's or an item's 64-bit hash, as the windows keep it."""
    return hash(value) & _MASK


class _DistinctWindow:
    """Per key, the items seen within the window, with when: how many distinct items a key has had.

    At national rates a window holds millions of keys, most with a single item, so nothing here is a
    Python object per sighting for long. Keys and items are 64-bit hashes (:func:`_h`) and times integer
    milliseconds. Sightings older than the last fold sit in three numpy arrays sorted by key (24 bytes
    a row, a key's rows found by binary search). Newer ones are in dicts: a key with one recent item in
    two plain int dicts (item, time; same insertion order, so a fold reads them in C), a key with
    more in a dict of its own. Every hundredth of a window the dicts are folded into the arrays and
    rows older than the window dropped. ``bench/match_bench.py`` prints the bytes per counted pair.
    Two keys or items whose hashes are equal (odds 2^-64 per pair) count as one.
    """

    def __init__(self) -> None:
        self._item1: dict[int, int] = {}  # key -> its one recent item
        self._time1: dict[int, int] = {}  # key -> when (same keys, same order as _item1)
        self._multi: dict[int, dict[int, int]] = {}  # key -> item -> when, for keys with several
        self._set_arrays(np.empty(0, np.uint64), np.empty(0, np.uint64), np.empty(0, np.int64))

    def _set_arrays(self, keys: np.ndarray, items: np.ndarray, times: np.ndarray) -> None:
        self._keys, self._items, self._times = keys, items, times
        # Plain-int views for bisect: numpy's searchsorted on one value costs more than the search.
        self._key_view = keys.data.cast("B").cast("Q")
        self._item_view = items.data.cast("B").cast("Q")
        self._time_view = times.data.cast("B").cast("q")
        # Every 64th key as a list: the search runs there first (no int made per comparison), then
        # within one stretch of the view.
        self._fence: list[int] = keys[::_STRIDE].tolist()

    def count(self, k: int, since: int) -> int:
        """The distinct count of key ``k`` in the window (from ``since`` ms on); only on refusals, so not tuned."""
        keys = self._key_view
        n = len(keys)
        lo = bisect_left(keys, k)
        found: set[int] = set()
        while lo < n and keys[lo] == k:
            if self._time_view[lo] >= since:
                found.add(self._item_view[lo])
            lo += 1
        t1 = self._time1.get(k)
        if t1 is not None and t1 >= since:
            found.add(self._item1[k])
        found.update(it for it, ts in self._multi.get(k, {}).items() if ts >= since)
        return len(found)

    def count_with(self, k: int, i: int, since: int) -> int:
        """The distinct count of key ``k`` in the window (from ``since`` ms on) if item ``i`` were added now."""
        keys = self._key_view
        n = len(keys)
        f = bisect_left(self._fence, k)
        lo = bisect_left(keys, k, (f - 1) * _STRIDE if f else 0, min(f * _STRIDE, n))
        folded = lo < n and keys[lo] == k
        t1 = self._time1.get(k)
        if not folded and t1 is not None:  # the usual case: one recent item, nothing older
            return 1 if t1 < since or self._item1[k] == i else 2
        found: set[int] = set()
        if folded:
            items, times = self._item_view, self._time_view
            while lo < n and keys[lo] == k:  # a key's rows: a few at most (one per fold it was seen in)
                if times[lo] >= since:
                    found.add(items[lo])
                lo += 1
        if t1 is not None and t1 >= since:
            found.add(self._item1[k])
        several = self._multi.get(k)
        if several is not None:
            found.update(it for it, ts in several.items() if ts >= since)
        return len(found) + (0 if i in found else 1)

    def add(self, k: int, i: int, now: int) -> None:
        """Record item ``i`` of key ``k`` as seen at ``now`` ms (an older sighting than the kept one: no change)."""
        t1 = self._time1.get(k)
        if t1 is not None:
            one = self._item1[k]
            if one == i:
                if t1 < now:
                    self._time1[k] = now
                return
            del self._item1[k], self._time1[k]
            self._multi[k] = {one: t1, i: now}
            return
        several = self._multi.get(k)
        if several is None:
            self._item1[k] = i
            self._time1[k] = now
        elif several.get(i, -1) < now:
            several[i] = now

    def sweep(self, since: int) -> None:
        """Fold the recent sightings into the arrays and drop what is older than ``since`` (bounds memory)."""
        n = len(self._item1)
        new_keys = [np.fromiter(self._item1.keys(), np.uint64, n)]
        new_items = [np.fromiter(self._item1.values(), np.uint64, n)]
        new_times = [np.fromiter(self._time1.values(), np.int64, n)]
        for k, several in self._multi.items():
            new_keys.append(np.full(len(several), k, np.uint64))
            new_items.append(np.fromiter(several.keys(), np.uint64, len(several)))
            new_times.append(np.fromiter(several.values(), np.int64, len(several)))
        self._item1, self._time1, self._multi = {}, {}, {}
        nk, ni, nt = np.concatenate(new_keys), np.concatenate(new_items), np.concatenate(new_times)
        fresh = nt >= since
        nk, ni, nt = nk[fresh], ni[fresh], nt[fresh]
        keep = self._times >= since
        keys, items, times = self._keys[keep], self._items[keep], self._times[keep]
        if len(nk):
            order = np.argsort(nk, kind="stable")
            nk = nk[order]
            at = np.searchsorted(keys, nk, side="right")
            keys = np.insert(keys, at, nk)
            items = np.insert(items, at, ni[order])
            times = np.insert(times, at, nt[order])
        self._set_arrays(keys, items, times)


class SlidingWindowDetector:
    """Counts, blocks and alerts; thread-safe. ``check`` returns the alerts it raised."""

    def __init__(self, config: AbuseConfig | None = None) -> None:
        self.config = config or AbuseConfig()
        self._lock = threading.Lock()
        self._by_postcode = _DistinctWindow()  # (org, postcode) -> national-code hashes
        self._by_code = _DistinctWindow()  # (org, national-code hash) -> postcodes
        self._all_by_postcode = _DistinctWindow()  # postcode -> national-code hashes, every organisation
        self._all_by_code = _DistinctWindow()  # national-code hash -> postcodes, every organisation
        self._orgs: dict[str, None] = {}  # every organisation counted (few): to name those involved in an alert
        # (kind, subject) -> (until, organisations named) of the last cross-organisation alert: one alert per
        # subject while it lasts, and another only when an organisation not yet named joins in.
        self._all_alerted: dict[tuple[str, str], tuple[datetime, frozenset[str]]] = {}
        self._blocks: dict[tuple[str, str, str], datetime] = {}  # (org, kind, subject) -> until
        self._org_alerts: dict[str, list[datetime]] = {}
        self._swept = -(1 << 62)  # when (ms) the windows were last folded: never yet
        self._recorded: list[Seen] = []  # counted by check() and not yet taken for the database

    def restore(self, alerts: Iterable[Alert], now: datetime) -> None:
        """Re-impose blocks raised elsewhere (another process, or before a restart), and count their alerts."""
        horizon = now - timedelta(seconds=self.config.org_alert_window_seconds)
        with self._lock:
            for a in alerts:
                if a.kind in _ALL_KINDS:  # no block, no tally towards an organisation's block: see the notes
                    if a.blocked_until > now:
                        self._all_alerted[(a.kind, a.subject)] = (a.blocked_until, frozenset(a.orgs))
                    continue
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
                code_h, postcode_h = _h(x.code), _h(x.postcode)
                self._by_postcode.add(_h((x.org, x.postcode)), code_h, ts)
                self._by_code.add(_h((x.org, x.code)), postcode_h, ts)
                self._all_by_postcode.add(postcode_h, code_h, ts)
                self._all_by_code.add(code_h, postcode_h, ts)
                self._orgs[x.org] = None

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
        now_ms = _ms(now)
        with self._lock:
            # Recent sightings are folded into the arrays, and expired ones dropped, a hundredth of a window
            # apart: each fold copies the arrays once (tens of milliseconds at a million pairs), and a
            # short interval keeps both the dict and the pause of each fold small.
            if now_ms - self._swept > cfg.window_seconds * 10:
                self._swept = now_ms
                self._sweep(now)
            # A national code is known here only by a fingerprint of its hash (also what alerts show).
            code = "nc:" + fingerprint(nc_hash)
            if self._blocks:
                self._refuse_if_blocked(org, code, postcode, now)
            since = now_ms - cfg.window_seconds * 1000
            by_postcode, by_code = _h((org, postcode)), _h((org, code))
            code_h, postcode_h = _h(code), _h(postcode)
            alerts: list[Alert] = []
            n_codes = self._by_postcode.count_with(by_postcode, code_h, since)
            if n_codes > cfg.max_codes_per_postcode:
                alerts.append(self._alert(org, KIND_CODES_PER_POSTCODE, postcode, n_codes, now))
            n_pcs = self._by_code.count_with(by_code, postcode_h, since)
            if n_pcs > cfg.max_postcodes_per_code:
                alerts.append(self._alert(org, KIND_POSTCODES_PER_CODE, code, n_pcs, now))
            if alerts:
                raise self._refusal(alerts, now)
            # The same counts across organisations: keyed by the postcode's and the code's own hashes.
            n_all = self._all_by_postcode.count_with(postcode_h, code_h, since)
            if n_all > cfg.max_codes_per_postcode_all_orgs:
                raise self._refusal_all(org, KIND_CODES_PER_POSTCODE_ALL, postcode, n_all, since, now)
            n_all = self._all_by_code.count_with(code_h, postcode_h, since)
            if n_all > cfg.max_postcodes_per_code_all_orgs:
                raise self._refusal_all(org, KIND_POSTCODES_PER_CODE_ALL, code, n_all, since, now)
            self._by_postcode.add(by_postcode, code_h, now_ms)
            self._by_code.add(by_code, postcode_h, now_ms)
            self._all_by_postcode.add(postcode_h, code_h, now_ms)
            self._all_by_code.add(code_h, postcode_h, now_ms)
            self._orgs[org] = None
            self._recorded.append(_seen(now, org, postcode, code))

    def _refusal_all(self, org: str, kind: str, subject: str, count: int, since: int,
                     now: datetime) -> EnumerationSuspected:
        """The refusal of a query past a cross-organisation limit; with an alert naming every organisation
        involved, unless one naming them all is still in force."""
        cfg = self.config
        last = self._all_alerted.get((kind, subject))
        if last is not None and last[0] <= now:
            last = None
        exc = EnumerationSuspected(_REASONS[kind], reason=kind, retry_after=1)
        if last is not None and org in last[1]:
            until = last[0]  # an alert naming this organisation (and the others) is in force: no new one
        else:
            window = self._by_postcode if kind == KIND_CODES_PER_POSTCODE_ALL else self._by_code
            involved = {o for o in self._orgs if window.count(_h((o, subject)), since) > 0} | {org}
            if last is not None:  # organisations refused before are involved too, though never counted
                involved |= last[1]
            until = now + timedelta(seconds=cfg.block_seconds)
            self._all_alerted[(kind, subject)] = (until, frozenset(involved))
            exc.alerts = [Alert(None, now, org, kind, subject, count, cfg.window_seconds, until,
                                tuple(sorted(involved)))]
        exc.details["retry_after"] = max(1, int((until - now).total_seconds()))
        return exc

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
        self._all_by_postcode.sweep(since)
        self._all_by_code.sweep(since)
        self._blocks = {k: v for k, v in self._blocks.items() if v > now}
        self._all_alerted = {k: v for k, v in self._all_alerted.items() if v[0] > now}


_REASONS = {
    KIND_CODES_PER_POSTCODE: "too many different national codes were asked about this postcode",
    KIND_POSTCODES_PER_CODE: "too many different postcodes were asked about this national code",
    KIND_CODES_PER_POSTCODE_ALL: "too many different national codes were asked about this postcode by all "
                                 "organisations together",
    KIND_POSTCODES_PER_CODE_ALL: "too many different postcodes were asked about this national code by all "
                                 "organisations together",
}
