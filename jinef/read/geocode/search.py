"""One query against the index: candidates from what the query names, scored against every part of it.

Candidates come from the most selective parts: the streets the query names, looked up inside the localities
it names (:mod:`jinef.read.geocode.areas`), then their buildings with the written plate (one vectorised search
over ``b_key``), the unit a written postcode points at, and — when no building fits — the streets or areas
themselves. Every candidate is scored by the same rules against all parts of the query, so a postcode or a
locality that contradicts the rest is weighed, not obeyed. No cap drops a candidate: large candidate sets
are cut by exact score bounds computed in numpy (:meth:`_Search.prune`), never by their order.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from jinef.model.postcode import from_int
from jinef.read.geocode import weights as W
from jinef.read.geocode.areas import TYPO, Areas, max_edits
from jinef.read.geocode.calibration import confidence as calibrated
from jinef.read.geocode.index import PLATE_SHIFT, GeocodeIndex, unit_key
from jinef.read.geocode.results import Candidate, Query
from jinef.text.keys import match_key
from jinef.text.lexicon import AREA_TYPES
from jinef.text.parser import split_thoroughfare

_PLATE_MASK = (1 << PLATE_SHIFT) - 1  # the plate code's bits of b_key
PRUNE_ABOVE = 16  # more candidates than this: bound their scores in numpy before scoring any one fully
_SMALL = 32  # up to this many thoroughfares, search plates by bisection rather than numpy
BOUND_ABOVE = 64  # more matched thoroughfares than this: bound them street by street before searching plates


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111.2
    dx = (lon2 - lon1) * 111.2 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


class _Lookup:
    """A thoroughfare → quality dict, looked up for a whole array of thoroughfares (0 where absent)."""

    def __init__(self, m: dict[int, float]) -> None:
        keys = np.fromiter(m, np.int64, len(m))
        order = np.argsort(keys)
        self.keys = keys[order]
        self.values = np.fromiter(m.values(), np.float64, len(m))[order]

    def __call__(self, ths: np.ndarray) -> np.ndarray:
        if not len(self.keys):
            return np.zeros(len(ths))
        pos = np.minimum(np.searchsorted(self.keys, ths), len(self.keys) - 1)
        return np.where(self.keys[pos] == ths, self.values[pos], 0.0)


def top_candidates(worst: np.ndarray, best: np.ndarray, k: int) -> np.ndarray:
    """Which candidates can be among the k best (a mask), from bounds on their scores.

    The final ranking is by score, ties in candidate order. A candidate whose best case is below the k-th
    best worst case cannot make it. Of those whose score is known exactly and equals that threshold, only the
    first k can (the rest would follow them in the ranking): a common street name with hundreds of equally
    scored buildings costs k answers, not hundreds.
    """
    if len(worst) <= k:
        return np.ones(len(worst), dtype=bool)
    threshold = np.partition(worst, len(worst) - k)[len(worst) - k]
    keep = best >= threshold - 1e-6
    tied = keep & (np.abs(best - threshold) <= 1e-6) & (np.abs(worst - best) <= 1e-9)
    if tied.sum() > k:
        keep[np.flatnonzero(tied)[k:]] = False
    return keep


class _Search:
    """The state of one query against the index."""

    def __init__(self, ix: GeocodeIndex, q: Query, limit: int, province: str | None, county: str | None,
                 locality: str | None, near: tuple[float, float] | None) -> None:
        self.ix = ix
        self.q = q
        self.limit = limit
        self.near = near
        self.corrections = list(q.corrections)
        self.ignored = list(q.ignored)
        self.areas = areas = Areas(ix, q, province, county, locality, self.corrections, self.ignored)
        self.allowed = areas.allowed
        if areas.unplaced_neighbourhood:  # «محله اتوبان …» that names no neighbourhood: read as a street
            street = split_thoroughfare(areas.unplaced_neighbourhood)
            if street.type_word:
                q.thoroughfares = [(street.type_word, street.name), *q.thoroughfares]
        # «محله کوی سعادت»: a neighbourhood named with a type word reads as a thoroughfare.
        if q.thoroughfares:
            kept = []
            for t, n in q.thoroughfares:
                if ix.neighbourhoods.count(match_key(f"{t} {n}")) and q.neighbourhood is None and (
                        t in AREA_TYPES or len(q.thoroughfares) > 1):
                    areas.neighbourhood(f"{t} {n}", fuzzy=False)
                else:
                    kept.append((t, n))
            if kept:
                q.thoroughfares = kept
        self.prov_key, self.county_key = areas.prov_key, areas.county_key
        self.loc_ev, self.nb_ev = areas.loc_ev, areas.nb_ev
        self.named = areas.named_localities()
        self.region = None if self.named else areas.region_mask()
        # Thoroughfare matches per written thoroughfare: row → quality in (0, 1].
        self.th_match: list[dict[int, float]] = [self._thoroughfare(t, n) for t, n in q.thoroughfares]
        self.th_type = [match_key(t) for t, _ in q.thoroughfares]
        self.th_written = [" ".join(t).strip() for t in q.thoroughfares]
        self.plate_code = ix.plate_code(q.plate) if q.plate else -1
        self.unit_key = unit_key(q.unit) if q.unit else None
        self.entrance_key = unit_key(q.entrance) if q.entrance else None
        self.building_key = match_key(q.building) if q.building else None
        self._lookups: list[_Lookup] | None = None
        self._areas: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None] | None = None
        self._type_ok: list[np.ndarray] = []

    # -- streets -------------------------------------------------------------------------

    def _rows_named(self, key: str) -> list[int]:
        """Thoroughfares carrying ``key`` inside what the query names (the named localities, else the named
        province or county, else anywhere)."""
        posts = self.ix.thoroughfares
        if self.named:
            return posts.of_within(key, self.named)
        rows = posts.of(key)
        if self.region is not None and len(rows):
            rows = rows[self.region[self.ix.th_loc[rows]]]
        return rows.tolist()

    def _thoroughfare(self, type_word: str, name: str) -> dict[int, float]:
        ix = self.ix
        k = match_key(name)
        if not k:
            return {}
        named = self._rows_named(k) if ix.thoroughfares.count(k) else []
        if named:
            return dict.fromkeys(named, 1.0)
        maxd = max_edits(k)
        out: dict[int, float] = {}
        if maxd:
            for key, dist, _ in process.extract(k, ix.thoroughfares.keys, scorer=OSA.distance, score_cutoff=maxd,
                                                limit=4):
                if key == k:
                    continue
                found = self._rows_named(key)
                if found:
                    quality = 1.0 - W.TYPO_STEP * dist
                    for t in found:
                        out[t] = max(out.get(t, 0.0), quality)
                    if not any(c["original"] == name for c in self.corrections):
                        self.corrections.append({"kind": TYPO, "original": name,
                                                 "result": ix.th_names[ix.th_name_code[found[0]]]})
        if not out and (self.named or self.region is not None) and ix.thoroughfares.count(k):
            # Not in the named area: the street may be right and the area wrong; scoring weighs the conflict.
            rows = ix.thoroughfares.of(k)
            if self.allowed is not None:
                rows = rows[self.allowed[ix.th_loc[rows]]]
            out = dict.fromkeys(rows.tolist(), 1.0)
        return out

    # -- scoring -------------------------------------------------------------------------

    def _area_score(self, loc: int, nb: int, matched: dict[str, Any], conflicts: list[str]) -> float:
        ix = self.ix
        s = 0.0
        if self.loc_ev:
            if loc in self.loc_ev:
                s += W.LOCALITY
                if self.q.locality_type:
                    s += W.LOCALITY_TYPE if self.q.locality_type == ix.loc_type[loc] else -W.LOCALITY_TYPE
                matched["locality"] = (self.loc_ev[loc], ix.loc_name[loc])
            else:
                s -= W.LOCALITY
                conflicts.append("locality")
        if self.prov_key:
            if ix.loc_province_key[loc] == self.prov_key:
                s += W.ADMIN
                matched["province"] = ix.loc_province[loc]
            else:
                s -= W.ADMIN * 2
                conflicts.append("province")
        if self.county_key:
            if ix.loc_county_key[loc] == self.county_key:
                s += W.ADMIN
                matched["county"] = ix.loc_county[loc]
            else:
                s -= W.ADMIN
                conflicts.append("county")
        if self.nb_ev:
            if nb in self.nb_ev:
                s += W.NEIGHBOURHOOD
                matched["neighbourhood"] = (self.nb_ev[nb], ix.nb_name[nb])
            else:
                s -= W.NEIGHBOURHOOD_MISS
        return s

    def _area_tables(self) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None, np.ndarray | None]:
        """Per-query lookup tables by row: named locality, named neighbourhood, agreeing province and county (one
        extra False slot each, read by row -1). Gathering from them is cheaper than comparing names."""
        if self._areas is None:
            ix = self.ix
            loc_named = nb_named = prov_ok = county_ok = None
            if self.loc_ev:
                loc_named = np.zeros(ix.n_loc + 1, dtype=bool)
                loc_named[list(self.loc_ev)] = True
            if self.nb_ev:
                nb_named = np.zeros(len(ix.nb_name) + 1, dtype=bool)
                nb_named[list(self.nb_ev)] = True
            if self.prov_key:
                prov_ok = np.zeros(len(ix.province_names) + 1, dtype=bool)
                prov_ok[ix.province_rows.get(self.prov_key, [])] = True
            if self.county_key:
                county_ok = np.zeros(len(ix.county_names) + 1, dtype=bool)
                county_ok[ix.county_rows.get(self.county_key, [])] = True
            self._areas = (loc_named, nb_named, prov_ok, county_ok)
        return self._areas

    def _area_scores(self, loc: np.ndarray, nb: np.ndarray) -> np.ndarray:
        """:meth:`_area_score` for many (locality, neighbourhood) pairs at once (same rules)."""
        ix = self.ix
        loc_named, nb_named, prov_ok, county_ok = self._area_tables()
        s = np.zeros(len(loc))
        if loc_named is not None:
            inside = loc_named[loc]
            s += np.where(inside, W.LOCALITY, -W.LOCALITY)
            if self.q.locality_type:
                same = ix.loc_type_code[loc] == ix.loc_type_codes.get(self.q.locality_type, -2)
                s += np.where(inside, np.where(same, W.LOCALITY_TYPE, -W.LOCALITY_TYPE), 0.0)
        if prov_ok is not None:
            s += np.where(prov_ok[ix.loc_province_row[loc]], W.ADMIN, -W.ADMIN * 2)
        if county_ok is not None:
            s += np.where(county_ok[ix.loc_county_row[loc]], W.ADMIN, -W.ADMIN)
        if nb_named is not None:
            s += np.where(nb_named[nb], W.NEIGHBOURHOOD, -W.NEIGHBOURHOOD_MISS)
        return s

    def _street_score(self, last: int, prev: int, matched: dict[str, Any], conflicts: list[str]) -> float:
        """Score the (prev, last) pair of a building or thoroughfare against the written thoroughfares."""
        ix = self.ix
        ths = self.q.thoroughfares
        if not ths:
            return 0.0
        n = len(ths)
        best_last, li = 0.0, -1
        last_type = ix.th_type_key(last) if last >= 0 else ""
        for i, m in enumerate(self.th_match):
            v = m.get(last, 0.0)
            if v:
                v = v * W.LAST + (W.LAST_POSITION if i == n - 1 else 0.0)
                v += W.TYPE if self.th_type[i] == last_type else -W.TYPE
                if v > best_last:
                    best_last, li = v, i
        if li < 0:
            conflicts.append("last_thoroughfare")
            return -W.CONFLICT
        matched["last_thoroughfare"] = (self.th_written[li], last)
        s = best_last
        grand = ix.v_th_prev[prev] if prev >= 0 else -1
        prev_type = ix.th_type_key(prev) if prev >= 0 else ""
        for j, m in enumerate(self.th_match):
            if j == li:
                continue
            v = m.get(prev, 0.0) if prev >= 0 else 0.0
            if v and "prev_thoroughfare" not in matched:
                s += v * W.PREV + (W.TYPE if self.th_type[j] == prev_type else -W.TYPE)
                matched["prev_thoroughfare"] = (self.th_written[j], prev)
            elif grand >= 0 and m.get(grand, 0.0):
                s += W.PREV_ABOVE
            else:
                s -= W.PREV_MISSING
                conflicts.append("prev_thoroughfare")
        return s

    def _street_scores(self, last: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """:meth:`_street_score` for many (last, prev) pairs: the same rules, written thoroughfare by thoroughfare."""
        ix = self.ix
        n = len(self.th_match)
        if self._lookups is None:  # made once per query: every candidate set is scored against the same matches
            self._lookups = [_Lookup(m) for m in self.th_match]
            self._type_ok = [np.array([k == t for k in ix.th_type_keys], dtype=bool) for t in self.th_type]
        lookups, type_ok = self._lookups, self._type_ok
        best = np.zeros(len(last))
        li = np.full(len(last), -1)
        last_type = ix.th_type_code[np.maximum(last, 0)]
        for i, lk in enumerate(lookups):
            qv = lk(last)
            v = qv * W.LAST + (W.LAST_POSITION if i == n - 1 else 0.0)
            v = v + np.where(type_ok[i][last_type], W.TYPE, -W.TYPE)
            better = (qv > 0) & (v > best)
            best = np.where(better, v, best)
            li = np.where(better, i, li)
        has_prev = prev >= 0
        grand = np.where(has_prev, ix.th_prev[np.maximum(prev, 0)], -1).astype(np.int64)
        took_prev = np.zeros(len(last), dtype=bool)
        prev_type = ix.th_type_code[np.maximum(prev, 0)]
        for j, lk in enumerate(lookups):
            other = li != j
            qp = np.where(has_prev, lk(prev), 0.0)
            first = other & (qp > 0) & ~took_prev
            best += np.where(first, qp * W.PREV + np.where(type_ok[j][prev_type], W.TYPE, -W.TYPE), 0.0)
            took_prev |= first
            up = other & ~first & (grand >= 0) & (lk(grand) > 0)
            best += np.where(up, W.PREV_ABOVE, 0.0)
            best -= np.where(other & ~first & ~up, W.PREV_MISSING, 0.0)
        return np.where(li >= 0, best, -W.CONFLICT)

    def _near(self, lat: float, lon: float) -> float:
        if self.near is None or math.isnan(lat):
            return 0.0
        return W.NEAR * math.exp(-_km(self.near[0], self.near[1], lat, lon) / W.NEAR_KM)

    def _near_scores(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        if self.near is None:
            return np.zeros(len(lat))
        dy = (lat - self.near[0]) * 111.2
        dx = (lon - self.near[1]) * 111.2 * math.cos(math.radians(self.near[0]))
        return np.nan_to_num(W.NEAR * np.exp(-np.hypot(dx, dy) / W.NEAR_KM))

    def building(self, b: int, extra: float = 0.0) -> Candidate:
        """Score a building and resolve its unit from floor and unit."""
        ix = self.ix
        q = self.q
        matched: dict[str, Any] = {}
        conflicts: list[str] = []
        bid, loc, nb, prev, last, _, entrance, name, lat, lon, _, _ = ix.building(b)
        s = extra + self._area_score(loc, nb, matched, conflicts)
        s += self._street_score(last, prev, matched, conflicts)
        if q.plate:
            if ix.v_b_key[b] & _PLATE_MASK == self.plate_code:
                s += W.PLATE
                matched["plate"] = ix.b_plate(b)
            else:
                s -= W.CONFLICT
                conflicts.append("plate")
        if self.entrance_key is not None:
            if ix.entrance_keys[entrance] == self.entrance_key:
                s += W.ENTRANCE
                matched["entrance"] = ix.entrances[entrance]
            else:
                s -= W.ENTRANCE
                conflicts.append("entrance")
        if self.building_key and name >= 0:
            if OSA.distance(self.building_key, ix.building_name_keys[name]) <= 2:
                s += W.BUILDING_NAME
                matched["building"] = ix.building_names[name]
        if self.near is not None:
            s += self._near(lat, lon)
        units = ix.units_of(b)
        chosen = -1
        records = {u: ix.unit(u) for u in units} if (self.unit_key is not None or q.floor is not None) else {}
        floors = {u: r[2] for u, r in records.items()}
        if self.unit_key is not None:
            keys = [ix.label_keys[records[u][3]] for u in units]
            hits = [u for u, k in zip(units, keys, strict=True) if k == self.unit_key]
            if q.floor is not None and len(hits) > 1:
                hits = [u for u in hits if floors[u] == q.floor] or hits
            if len(hits) == 1:
                chosen = hits[0]
                s += W.UNIT
                matched["unit"] = ix.labels[records[chosen][3]]
                if q.floor is not None:
                    if floors[chosen] == q.floor:
                        s += W.FLOOR
                        matched["floor"] = str(q.floor)
                    else:
                        s -= W.FLOOR
                        conflicts.append("floor")
            elif len(units) == 1 and self.unit_key in ("1", ""):
                chosen = units[0]
            else:
                s -= W.UNIT
                conflicts.append("unit")
        elif q.floor is not None:
            on_floor = [u for u in units if floors[u] == q.floor]
            if len(on_floor) == 1:
                chosen = on_floor[0]
                s += W.FLOOR
                matched["floor"] = str(q.floor)
            elif not on_floor and len(units) > 1:
                conflicts.append("floor")
                s -= W.FLOOR
        if chosen < 0 and len(units) == 1:
            chosen = units[0]
        if chosen >= 0:
            return Candidate("unit", from_int(ix.v_u_postcode[chosen]), 0.0, lat, lon, "", s,
                             evidence=matched, conflicts=conflicts, building_id=bid, ref_b=b, ref_u=chosen)
        return Candidate("building", None, 0.0, lat, lon, "", s, evidence=matched, conflicts=conflicts,
                         building_id=bid, ref_b=b)

    def _unit_scores(self, bs: np.ndarray) -> np.ndarray:
        """What the unit and floor add in :meth:`building`, for many buildings at once (same rules)."""
        q = self.q
        ix = self.ix
        out = np.zeros(len(bs))
        if self.unit_key is None and q.floor is None:
            return out
        lo = ix.b_u_off[bs]
        n = ix.b_u_off[bs + 1] - lo
        seg = np.repeat(np.arange(len(bs)), n)  # each unit's position in bs
        units = ix.b_units[lo[seg] + (np.arange(len(seg)) - np.repeat(np.cumsum(n) - n, n))]
        floor_ok = ix.u_floor[units] == q.floor if q.floor is not None else np.zeros(len(units), dtype=bool)
        floors = np.bincount(seg, weights=floor_ok, minlength=len(bs))
        if self.unit_key is None:  # floor only: one unit on it, or none in a building of several
            return np.where(floors == 1, W.FLOOR, np.where((floors == 0) & (n > 1), -W.FLOOR, 0.0))
        key_ok = ix.label_key_arr[ix.u_label[units]] == self.unit_key
        keys = np.bincount(seg, weights=key_ok, minlength=len(bs))
        both = np.bincount(seg, weights=key_ok & floor_ok, minlength=len(bs))
        hits = np.where((keys > 1) & (both > 0), both, keys) if q.floor is not None else keys
        found = W.UNIT + (np.where(both >= 1, W.FLOOR, -W.FLOOR) if q.floor is not None else 0.0)
        single = (n == 1) & (self.unit_key in ("1", ""))
        return np.where(hits == 1, found, np.where(single, 0.0, -W.UNIT))

    def _entrance_scores(self, bs: np.ndarray) -> np.ndarray:
        """What the entrance adds in :meth:`building`, for many buildings at once (same rule)."""
        if self.entrance_key is None:
            return np.zeros(len(bs))
        # Entrance codes are few: one flag per code (the last slot, read by code -1, is "no entrance").
        same = np.array([k == self.entrance_key for k in self.ix.entrance_keys], dtype=bool)
        return np.where(same[self.ix.b_entrance_code[bs]], W.ENTRANCE, -W.ENTRANCE)

    def _exact_scores(self, bs: np.ndarray) -> np.ndarray:
        """Everything :meth:`building` scores that is known without its name and nearness, for many buildings."""
        return self._base_scores(bs) + self._unit_scores(bs) + self._entrance_scores(bs)

    def _detail_bounds(self, entrance: bool = False) -> tuple[float, float]:
        """Lowest and highest score :meth:`building` adds beyond :meth:`_exact_scores` (``entrance``: and beyond
        area, street, plate, unit and floor only, as for a street not yet searched)."""
        q = self.q
        lo = hi = 0.0
        if entrance and self.entrance_key is not None:
            lo, hi = lo - W.ENTRANCE, hi + W.ENTRANCE
        if q.building:
            hi += W.BUILDING_NAME
        if self.near is not None:
            hi += W.NEAR
        return lo, hi

    def _base_scores(self, bs: np.ndarray) -> np.ndarray:
        """Area + street + plate scores of many buildings at once (the rules of :meth:`building`)."""
        ix = self.ix
        s = self._area_scores(ix.b_loc[bs], ix.b_nb[bs])
        if self.q.thoroughfares:
            s += self._street_scores(ix.b_last[bs].astype(np.int64), ix.b_prev[bs].astype(np.int64))
        if self.q.plate:
            s += W.PLATE  # every building here was found by its plate
        return s

    def prune(self, bs: list[int]) -> list[int]:
        """The buildings that can still reach the top ``limit`` (in their order); the others are not scored.

        A street named «کوچه ۱۲» without its city finds hundreds of buildings with the plate. Each one's area,
        street, plate, unit, floor and entrance scores are computed together in numpy (:meth:`_exact_scores`);
        the rest of its score (building name, nearness) lies in known bounds. A building whose best case is below the
        k-th best worst case cannot be among the top k, so it is dropped (:func:`top_candidates`).
        """
        k = max(self.limit, 2)  # the runner-up sets the top candidate's margin
        if len(bs) <= max(PRUNE_ABOVE, k):
            return bs
        arr = np.array(bs, dtype=np.int64)
        base = self._exact_scores(arr)
        lo, hi = self._detail_bounds()
        keep = top_candidates(base + lo, base + hi, k).tolist()
        return [b for b, ok in zip(bs, keep, strict=True) if ok]

    # -- candidates ----------------------------------------------------------------------

    def buildings_with_plate(self) -> list[int]:
        """Buildings with the written plate on any matched thoroughfare that can reach the top (active ones only).

        A common street name («کوچه اول») matches thousands of alleys in a big city. Their buildings' area,
        street and plate scores are bounded street by street first (exactly, where every building of a street
        has the same prev thoroughfare and neighbourhood); the plates of the best streets are searched, and the
        other streets only if their bound can still reach the k-th best building found.
        """
        if self.plate_code < 0:
            return []
        ths = sorted({t for m in self.th_match for t in m})
        if len(ths) <= BOUND_ABOVE:
            return self._plate_buildings(ths)
        arr = np.array(ths, dtype=np.int64)
        lo = self._detail_bounds()[0]
        bound = self._street_bounds(arr) + W.PLATE + self._unit_bounds()[1] + self._detail_bounds(entrance=True)[1]
        order = np.argsort(-bound, kind="stable")
        k = max(self.limit, 2)
        found: list[int] = []
        start, step = 0, BOUND_ABOVE
        while start < len(order):
            if len(found) >= k:
                b = np.array(found, dtype=np.int64)
                worst = self._exact_scores(b) + lo
                kth = np.partition(worst, len(worst) - k)[len(worst) - k]
                rest = order[start:]
                rest = rest[bound[rest] >= kth - 1e-6]
                found.extend(self._plate_buildings(arr[rest].tolist()))
                break
            found.extend(self._plate_buildings(arr[np.sort(order[start:start + step])].tolist()))
            start += step
            step *= 2
        return sorted(found)

    def _unit_bounds(self) -> tuple[float, float]:
        """Lowest and highest score the unit and floor can add (:meth:`_unit_scores`)."""
        floor = self.q.floor is not None
        if self.unit_key is not None:
            return -W.UNIT, W.UNIT + (W.FLOOR if floor else 0.0)
        return (-W.FLOOR, W.FLOOR) if floor else (0.0, 0.0)

    def _street_bounds(self, ths: np.ndarray) -> np.ndarray:
        """For each thoroughfare, the highest area + street score any of its buildings can have."""
        ix = self.ix
        nb = ix.th_nb[ths]
        uniform = ix.th_uniform[ths]
        area = self._area_scores(ix.th_loc[ths], nb)
        if self.nb_ev:  # a building elsewhere in the street may be in the named neighbourhood
            named_nb = np.isin(nb, np.fromiter(self.nb_ev, np.int64, len(self.nb_ev)))
            area = np.where(uniform | named_nb, area, area + W.NEIGHBOURHOOD + W.NEIGHBOURHOOD_MISS)
        street = self._street_scores(ths, ix.th_prev[ths].astype(np.int64))
        n = len(self.th_match)
        if n >= 2 and not uniform.all():  # the best any prev could add, for streets whose buildings differ in it
            no_prev = self._street_scores(ths, np.full(len(ths), -1, dtype=np.int64))
            best_prev = no_prev + (n - 1) * W.PREV_MISSING + W.PREV + W.TYPE + (n - 2) * W.PREV_ABOVE
            street = np.where(uniform, street, np.maximum(street, best_prev))
        return area + street

    def _plate_buildings(self, ths: list[int]) -> list[int]:
        """Buildings with the written plate on these thoroughfares (active ones only), in building order."""
        ix = self.ix
        if not ths:
            return []
        code, counts = self.plate_code, ix.v_b_u_off
        out: list[int] = []
        if len(ths) <= _SMALL:  # a binary search per thoroughfare beats numpy's per-call cost
            b_key, th_b = ix.v_b_key, ix.v_th_b_off
            for t in ths:
                # Within the street's own run of buildings: a few probes on one page, not two dozen on a
                # national array's pages.
                key, end = t << PLATE_SHIFT | code, th_b[t + 1]
                a = bisect_left(b_key, key, th_b[t], end)
                if a < end and b_key[a] == key:
                    out.extend(b for b in range(a, bisect_right(b_key, key, a, end)) if counts[b + 1] > counts[b])
            return out
        # Many thoroughfares: each one's buildings are a short run of the building order (by plate within it), so
        # gather those runs and compare the plate bits, rather than binary-search a national array per street.
        arr = np.array(ths, dtype=np.int64)
        lo, hi = ix.th_b_off[arr], ix.th_b_off[arr + 1]
        n = hi - lo
        bs = np.repeat(lo, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
        bs = bs[(ix.b_key[bs] & _PLATE_MASK) == code]
        bs = bs[ix.b_u_off[bs + 1] > ix.b_u_off[bs]]
        return bs.tolist()

    def _thoroughfare_candidates(self, ths: list[int]) -> list[Candidate]:
        """The best thoroughfares as candidates (all of them scored in numpy; the top few made into answers)."""
        ix = self.ix
        if not ths:
            return []
        arr = np.array(ths, dtype=np.int64)
        if len(arr) > max(PRUNE_ABOVE, self.limit + 1):
            score = (self._area_scores(ix.th_loc[arr], ix.th_nb[arr])
                     + self._street_scores(arr, ix.th_prev[arr].astype(np.int64))
                     + self._near_scores(ix.th_lat[arr], ix.th_lon[arr]))
            arr = arr[top_candidates(score, score, self.limit + 1)]
        out = []
        for t in arr.tolist():
            matched: dict[str, Any] = {}
            conflicts: list[str] = []
            s = self._area_score(ix.v_th_loc[t], ix.v_th_nb[t], matched, conflicts)
            s += self._street_score(t, ix.v_th_prev[t], matched, conflicts)
            lat, lon = float(ix.th_lat[t]), float(ix.th_lon[t])
            s += self._near(lat, lon)
            out.append(Candidate("thoroughfare", None, 0.0, lat, lon, "", s, evidence=matched, conflicts=conflicts,
                                 ref_t=t))
        return out

    def _area_candidates(self) -> list[Candidate]:
        ix = self.ix
        out: list[Candidate] = []
        for nb in self.nb_ev:
            loc = int(ix.nb_loc[nb])
            if loc < 0 or (self.allowed is not None and not self.allowed[loc]):
                continue
            matched: dict[str, Any] = {}
            conflicts: list[str] = []
            s = self._area_score(loc, nb, matched, conflicts)
            text = f"استان {ix.loc_province[loc]}، شهرستان {ix.loc_county[loc]}، {ix.loc_type[loc]} " \
                   f"{ix.loc_name[loc]}، محله {ix.nb_name[nb]}"
            lat, lon = float(ix.loc_lat[loc]), float(ix.loc_lon[loc])
            out.append(Candidate("neighbourhood", None, 0.0, lat, lon, text, s + self._near(lat, lon),
                                 evidence=matched, conflicts=conflicts))
        if not self.loc_ev and not out and (self.prov_key or self.county_key):
            return out
        for loc in self.loc_ev:
            if self.allowed is not None and not self.allowed[loc]:
                continue
            matched = {}
            conflicts = []
            s = self._area_score(loc, -1, matched, conflicts)
            text = f"استان {ix.loc_province[loc]}، شهرستان {ix.loc_county[loc]}، {ix.loc_type[loc]} {ix.loc_name[loc]}"
            lat, lon = float(ix.loc_lat[loc]), float(ix.loc_lon[loc])
            out.append(Candidate("locality", None, 0.0, lat, lon, text, s + self._near(lat, lon),
                                 evidence=matched, conflicts=conflicts))
        return out

    def run(self) -> list[Candidate]:
        """Generate, score and rank candidates."""
        ix = self.ix
        q = self.q
        cands: list[Candidate] = []
        pc_building = -1
        if q.postcode:
            u = ix.unit_by_postcode(int(q.postcode))
            if u >= 0 and ix.is_active(u):
                pc_building = ix.unit_building(u)
                c = self.building(pc_building, W.POSTCODE)
                if c.level != "unit" or c.postcode != q.postcode:
                    c = Candidate("unit", q.postcode, 0.0, c.lat, c.lon, "",
                                  c.score + (W.UNIT if c.level == "building" and not q.unit else 0.0),
                                  evidence=c.evidence, conflicts=c.conflicts, building_id=c.building_id,
                                  ref_b=pc_building, ref_u=u)
                c.evidence["postcode"] = q.postcode
                cands.append(c)
            else:
                self.ignored.append(f"{q.postcode} (postcode not in the registry)")
        for b in self.prune(self.buildings_with_plate()):
            if b == pc_building:
                continue
            c = self.building(b)
            if q.postcode and pc_building >= 0:
                c.conflicts.append("postcode")
                c.score -= W.POSTCODE_OTHER
            cands.append(c)
        has_building = any(c.level in ("unit", "building") for c in cands)
        if not has_building or not q.plate:
            th_c = self._thoroughfare_candidates(sorted({t for m in self.th_match for t in m}))
            if q.plate and th_c:
                for c in th_c:
                    c.conflicts.append("plate")
            cands.extend(th_c)
        if not cands:
            cands = self._area_candidates()
        cands.sort(key=lambda c: -c.score)
        return self._finish(self._dedupe(cands))

    @staticmethod
    def _dedupe(cands: list[Candidate]) -> list[Candidate]:
        seen: set[tuple[str, str | None, str, int, int]] = set()
        out = []
        for c in cands:
            key = (c.level, c.postcode, c.text, c.ref_b, c.ref_t)
            if key not in seen:
                seen.add(key)
                out.append(c)
        return out

    def finish(self, cands: list[Candidate]) -> list[Candidate]:
        """Rank ``cands`` (sorted by score) as the answer: margins, confidences, the first ``limit``."""
        return self._finish(cands)

    def _finish(self, cands: list[Candidate]) -> list[Candidate]:
        if not cands:
            return []
        top = cands[0]
        second = cands[1].score if len(cands) > 1 else None
        margin = top.score - second if second is not None else 99.0
        ix = self.ix
        # A street the query names that nowhere matches: whatever is answered, part of the address was not read.
        unknown_street = any(not m for m in self.th_match)
        for i, c in enumerate(cands[: self.limit]):
            if c.ref_b >= 0 or c.ref_t >= 0:
                c.index = ix  # the address text and unit postcodes are made only if asked for
            if unknown_street and "thoroughfare_unknown" not in c.conflicts:
                c.conflicts.append("thoroughfare_unknown")
            m = margin if i == 0 else (c.score - top.score)
            c.margin = m
            c.confidence = calibrated(c.level, m, bool(c.conflicts), len(c.evidence))
        return cands[: self.limit]
