"""Ids of keys held in sorted numpy arrays: the importer's memory of which buildings and thoroughfares it
has made, at 24 bytes a key instead of a dict of tuples (hundreds of bytes a key).

A key is two 64-bit words: an exact packing when the key fits (a thoroughfare is its locality and its
name's number), else two independent 64-bit hashes of the key's fields (a building), so that two
different buildings would share an id only if both hashes collided (about 1 in 10^25 for a nation's
16 million buildings).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S31, _S29, _S32 = np.uint64(31), np.uint64(29), np.uint64(32)


def hash_fields(fields: list[np.ndarray], seed: int) -> np.ndarray:
    """A 64-bit hash per row of integer columns (splitmix64 steps, one per field)."""
    n = len(fields[0]) if fields else 0
    h = np.full(n, np.uint64(seed), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for x in fields:
            h = (h + _GOLDEN) ^ x.astype(np.uint64, copy=False)
            h ^= h >> _S31
            h *= _MUL1
            h ^= h >> _S29
            h *= _MUL2
            h ^= h >> _S32
    return h


def first_seen(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's group (groups numbered in order of first appearance) and each group's first row.

    pyarrow's hash table numbers the distinct values as it meets them: no sort.
    """
    groups = pa.array(key).dictionary_encode().indices.to_numpy(zero_copy_only=False).astype(np.int64)
    running = np.maximum.accumulate(groups) if len(groups) else groups
    is_first = np.ones(len(groups), dtype=bool)
    is_first[1:] = running[1:] > running[:-1]  # a group's number is the largest so far on its first row
    return groups, np.flatnonzero(is_first)


def group_rows(cols: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of integer columns (values >= -1): each row's group (numbered in order of first
    appearance) and each group's first row.

    Columns are packed into one integer (numbered densely again whenever the next column would overflow
    it), so grouping hashes one int64 column rather than sorting whole rows.
    """
    key = cols[0].astype(np.int64) + 1
    for col in cols[1:]:
        c = col.astype(np.int64) + 1
        span = int(c.max(initial=0)) + 1
        if (int(key.max(initial=0)) + 1) * span >= 1 << 62:
            key = first_seen(key)[0]
        key = key * span + c
    return first_seen(key)


def float_bits(x: np.ndarray) -> np.ndarray:
    """The bits of float64 values, with -0.0 made 0.0 (equal values, equal bits)."""
    return (np.asarray(x, dtype=np.float64) + 0.0).view(np.uint64)


MAX_RUN = 1 << 22


class SortedRuns:
    """A growing set of integer keys (with payload columns) as a few sorted runs of decreasing size.

    A new batch's keys are a run of their own; two runs are merged whenever the older is not more than
    twice the newer, so there are O(log n) runs and each key is copied O(log n) times in all (one sorted
    array re-made per batch would copy every key once per batch: hundreds of times at national scale).
    Runs stop growing at :data:`MAX_RUN` keys, so that a merge never holds more than two such runs twice
    over: a nation's 16 million buildings are a handful of runs, each searched per batch.
    """

    def __init__(self) -> None:
        self.runs: list[tuple[np.ndarray, ...]] = []  # (sorted keys, *payload)

    def __len__(self) -> int:
        return sum(len(r[0]) for r in self.runs)

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Which keys are present, and their payload values (undefined where absent)."""
        found = np.zeros(len(keys), dtype=bool)
        payload: list[np.ndarray] = []
        for run in self.runs:
            if not payload:
                payload = [np.zeros(len(keys), dtype=p.dtype) for p in run[1:]]
            pos = np.minimum(np.searchsorted(run[0], keys), len(run[0]) - 1)
            hit = run[0][pos] == keys
            found |= hit
            for out, p in zip(payload, run[1:], strict=True):
                out[hit] = p[pos[hit]]
        return found, payload

    def add(self, keys: np.ndarray, *payload: np.ndarray) -> None:
        """Add keys absent from the set (in any order), with their payload."""
        if not len(keys):
            return
        order = np.argsort(keys, kind="stable")
        self.runs.append((keys[order], *(p[order] for p in payload)))
        while len(self.runs) > 1 and len(self.runs[-2][0]) <= 2 * len(self.runs[-1][0]) \
                and len(self.runs[-2][0]) + len(self.runs[-1][0]) <= MAX_RUN:
            newer, older = self.runs.pop(), self.runs.pop()
            merged = np.argsort(np.concatenate([older[0], newer[0]]), kind="stable")  # timsort: a linear merge
            self.runs.append(tuple(np.concatenate([a, b])[merged] for a, b in zip(older, newer, strict=True)))


class KeyIds:
    """Keys (two uint64 words) to ids: the first words in :class:`SortedRuns`, with second words and ids.

    A key whose first word another key already holds is kept apart in a dict (never, in practice, for
    hashed keys; not at all for packed ones, whose second word is 0).
    """

    def __init__(self) -> None:
        self.main = SortedRuns()
        self.extra: dict[tuple[int, int], int] = {}

    def __len__(self) -> int:
        return len(self.main) + len(self.extra)

    def add_existing(self, k1: np.ndarray, k2: np.ndarray, ids: np.ndarray) -> None:
        """Remember keys that already have ids (an append's registry)."""
        self.lookup(k1, k2, 0, given=np.asarray(ids, dtype=np.int64))

    def lookup(self, k1: np.ndarray, k2: np.ndarray, last_id: int,
               given: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """Each row's id, new keys numbered from ``last_id + 1`` in order of their first row.

        Returns the ids per row, the first row of each new key (ascending) and the last id given.
        With ``given``, new keys take those ids instead.
        """
        k1 = np.asarray(k1, dtype=np.uint64)
        k2 = np.asarray(k2, dtype=np.uint64)
        n = len(k1)
        if n == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), last_id
        order = np.lexsort((k2, k1))  # stable: a key's rows stay in file order
        s1, s2 = k1[order], k2[order]
        start = np.ones(n, dtype=bool)
        start[1:] = (s1[1:] != s1[:-1]) | (s2[1:] != s2[:-1])
        group = np.cumsum(start) - 1
        first_row, g1, g2 = order[start], s1[start], s2[start]
        gid = np.full(len(g1), -1, dtype=np.int64)
        taken, (held2, held_id) = self.main.find(g1) if self.main.runs else (np.zeros(len(g1), dtype=bool),
                                                                          [g2, gid])
        hit = taken & (held2 == g2)
        gid[hit] = held_id[hit]
        clash = taken & ~hit
        clash[1:] |= g1[1:] == g1[:-1]  # a first word shared inside the batch: only the first may be sorted in
        for j in np.flatnonzero(clash).tolist():
            found = self.extra.get((int(g1[j]), int(g2[j])))
            if found is not None:
                gid[j] = found
        new = np.flatnonzero(gid < 0)
        new = new[np.argsort(first_row[new], kind="stable")]
        if given is not None:
            gid[new] = given[first_row[new]]
            last_id = max(last_id, int(gid[new].max(initial=last_id)))
        else:
            gid[new] = last_id + 1 + np.arange(len(new), dtype=np.int64)
            last_id += len(new)
        for j in new[clash[new]].tolist():
            self.extra[(int(g1[j]), int(g2[j]))] = int(gid[j])
        sorted_in = new[~clash[new]]
        self.main.add(g1[sorted_in], g2[sorted_in], gid[sorted_in])
        ids = np.empty(n, dtype=np.int64)
        ids[order] = gid[group]
        return ids, first_row[new], last_id
