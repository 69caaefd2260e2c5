"""Free-text and structured addresses to ranked registry candidates, with a calibrated confidence.

Candidates are generated from the most selective parts (thoroughfare name keys, then plate via a
vectorised search over ``b_key``) and every candidate — including the unit a written postcode
points at — is scored by one function against all parts of the query, so a postcode that
contradicts the rest is weighed, not obeyed. The raw score margin between the best and the next
distinct candidate is mapped to a confidence by :mod:`jinef.geocode.calibration`.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from jinef.geocode.calibration import confidence as calibrated
from jinef.geocode.index import LOCALITY_GROUPED, PLATE_SHIFT, GeocodeIndex, unit_key
from jinef.registry.postcode import from_int
from jinef.registry.postcode import validate as validate_postcode
from jinef.registry.registry import Registry
from jinef.text.keys import match_key
from jinef.text.parser import ParsedAddress, parse_address

LEVELS = ("unit", "building", "thoroughfare", "neighbourhood", "locality", "none")
TYPO = "typo"

# Score weights: what each agreeing (or contradicting) part is worth.
W_LAST = 4.0
W_PREV = 3.0
W_PLATE = 4.0
W_UNIT = 2.5
W_FLOOR = 1.0
W_ENTRANCE = 1.5
W_LOCALITY = 2.0
W_NB = 1.5
W_ADMIN = 1.0
W_POSTCODE = 4.0
W_TYPE = 0.3
P_CONFLICT = 3.0
NEAR_KM = 3.0
MAX_BUILDINGS = 3000
_PLATE_MASK = (1 << PLATE_SHIFT) - 1  # the plate code's bits of b_key
PRUNE_ABOVE = 16  # more buildings than this: bound their scores in numpy before scoring any one fully
_SMALL = 32  # up to this many thoroughfares, filter them in Python rather than numpy
_AREA_TYPES = frozenset({"کوی", "شهرک", "مجتمع"})


@dataclass(slots=True)
class Query:
    """What an address says, level by level (from the parser or from structured fields)."""

    province: str | None = None
    county: str | None = None
    locality: str | None = None
    locality_type: str | None = None
    neighbourhood: str | None = None
    places: list[str] = field(default_factory=list)
    thoroughfares: list[tuple[str, str]] = field(default_factory=list)  # (type word, name), large to small
    plate: str | None = None
    entrance: str | None = None
    building: str | None = None
    floor: int | None = None
    unit: str | None = None
    postcode: str | None = None
    corrections: list[dict[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @classmethod
    def from_parsed(cls, p: ParsedAddress) -> Query:
        """The query a parse describes."""
        return cls(
            province=p.province, county=p.county, locality=p.locality, locality_type=p.locality_type,
            neighbourhood=p.neighbourhood,
            places=list(p.places), thoroughfares=[(t.type_word, t.name) for t in p.thoroughfares],
            plate=p.plate, entrance=p.entrance, building=p.building, floor=p.floor, unit=p.unit,
            postcode=p.postcode, corrections=[c.to_dict() for c in p.corrections],
            ignored=list(p.ignored) + list(p.landmarks),
        )


@dataclass(slots=True)
class Candidate:
    """One ranked answer."""

    level: str
    postcode: str | None
    confidence: float
    lat: float | None
    lon: float | None
    text: str  # the standard address when known up front (areas); else made from ref_* on first use
    score: float
    # level → what matched: text, or (input, registry name) or (input, thoroughfare index) until read
    # as ``matched``: formatting is left until then because most candidates are never shown.
    evidence: dict[str, Any] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    building_id: int | None = None
    margin: float = 0.0  # raw score over the next distinct candidate (negative below the top)
    # Index positions the address text is made from, only for the candidates returned.
    ref_b: int = field(default=-1, repr=False)
    ref_u: int = field(default=-1, repr=False)
    ref_t: int = field(default=-1, repr=False)
    index: GeocodeIndex | None = field(default=None, repr=False, compare=False)  # set for returned ones
    pcs: list[str] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """The registry's standard address of the answer, made on first use (most are never shown)."""
        ix = self.index
        if ix is not None and not self.text:
            if self.ref_b >= 0:
                self.text = ix.standard_address(self.ref_b, self.ref_u)
            elif self.ref_t >= 0:
                b = int(ix.th_b_off[self.ref_t])
                if ix.th_b_off[self.ref_t + 1] > b:
                    self.text = ix.standard_address(b).split("، پلاک")[0]
        return self.text

    @property
    def matched(self) -> dict[str, str]:
        """Level → «input → registry» (or the registry's name) for each part that agreed."""
        ev = self.evidence
        for k, v in ev.items():
            if type(v) is tuple:
                ref = v[1]
                if type(ref) is int:
                    ref = self.index.th_text(ref) if self.index is not None else str(ref)
                ev[k] = f"{v[0]} → {ref}"
        return ev

    @property
    def unit_postcodes(self) -> list[str]:
        """Building level: the postcodes of the building's units (made on first use)."""
        if self.pcs is None:
            ix = self.index
            if self.level != "building" or ix is None or self.ref_b < 0:
                return []
            lo, hi = ix.v_b_u_off[self.ref_b], ix.v_b_u_off[self.ref_b + 1]
            self.pcs = [from_int(p) for p in ix.v_u_postcode[lo:hi].tolist()]
        return self.pcs

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "level": self.level, "postcode": self.postcode, "confidence": round(_finite(self.confidence) or 0.0, 4),
            "lat": _finite(self.lat), "lon": _finite(self.lon), "address": self.address,
            "score": round(_finite(self.score) or 0.0, 3),
            "unit_postcodes": self.unit_postcodes, "matched": self.matched, "conflicts": self.conflicts,
        }


def _finite(x: float | None) -> float | None:
    """JSON has no NaN or infinity: such a value (a building with no geocode, say) is written as null."""
    return x if x is not None and math.isfinite(x) else None


@dataclass(slots=True)
class GeocodeResult:
    """Ranked candidates for one query and why."""

    query: str
    candidates: list[Candidate]
    corrections: list[dict[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def best(self) -> Candidate | None:
        """The top candidate, if any."""
        return self.candidates[0] if self.candidates else None

    @property
    def level(self) -> str:
        """The top candidate's match level (``none`` without one)."""
        return self.candidates[0].level if self.candidates else "none"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "query": self.query, "level": self.level, "reason": self.reason,
            "candidates": [c.to_dict() for c in self.candidates],
            "corrections": self.corrections, "ignored": self.ignored,
        }


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


def _max_edits(key: str) -> int:
    if key.isdigit() or len(key) < 4:
        return 0  # «کوچه ۱۲» and «کوچه ۱۳» are different alleys
    return 2 if len(key) >= 7 else 1


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dy = (lat2 - lat1) * 111.2
    dx = (lon2 - lon1) * 111.2 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


class _Search:
    """The state of one query against the index."""

    def __init__(self, gc: Geocoder, q: Query, limit: int, province: str | None, county: str | None,
                 locality: str | None, near: tuple[float, float] | None) -> None:
        self.ix = ix = gc.index
        self.q = q
        self.limit = limit
        self.near = near
        self.corrections = list(q.corrections)
        self.ignored = list(q.ignored)
        # Hard filters → allowed localities (None: all).
        self.allowed: np.ndarray | None = None
        if province or county or locality:
            mask = np.ones(len(ix.loc_id), dtype=bool)
            if province:
                mask &= ix.loc_province_key == match_key(province)
            if county:
                mask &= ix.loc_county_key == match_key(county)
            if locality:
                lm = np.zeros(len(ix.loc_id), dtype=bool)
                lm[ix.loc_by_key.get(match_key(locality), np.empty(0, np.int32))] = True
                mask &= lm
            self.allowed = mask
        self.prov_key = self._admin_key(q.province, ix.province_keys)
        self.county_key = self._admin_key(q.county, ix.county_keys)
        self.loc_ev: dict[int, str] = {}  # locality index → the input that named it
        self.loc_mask: np.ndarray | None = None
        self.nb_ev: dict[int, str] = {}
        if q.locality:
            self._locality(q.locality)
        if q.neighbourhood:
            self._neighbourhood(q.neighbourhood, fuzzy=True)
        for place in q.places:
            k = match_key(place)
            if not (self._locality(place, fuzzy=False) | self._neighbourhood(place, fuzzy=False)):
                if k in ix.province_keys and self.prov_key is None:
                    self.prov_key = k
                elif k in ix.county_keys and self.county_key is None:
                    self.county_key = k
                elif k not in ix.province_keys and k not in ix.county_keys:
                    self.ignored.append(place)
        # «محله کوی سعادت»: a neighbourhood named with a type word reads as a thoroughfare.
        if q.thoroughfares:
            kept = []
            for t, n in q.thoroughfares:
                if match_key(f"{t} {n}") in ix.nb_by_key and q.neighbourhood is None and (
                    t in _AREA_TYPES or len(q.thoroughfares) > 1
                ):
                    self._neighbourhood(f"{t} {n}", fuzzy=False)
                else:
                    kept.append((t, n))
            if kept:
                q.thoroughfares = kept
        # Thoroughfare matches per written thoroughfare: index → quality in (0, 1].
        self.th_match: list[dict[int, float]] = [self._thoroughfare(t, n) for t, n in q.thoroughfares]
        self.th_type = [match_key(t) for t, _ in q.thoroughfares]
        self.th_written = [" ".join(t).strip() for t in q.thoroughfares]
        self.plate_code = ix.plates.code(q.plate) if q.plate else -1
        self.unit_key = unit_key(q.unit) if q.unit else None
        self.entrance_key = unit_key(q.entrance) if q.entrance else None

    # -- names ---------------------------------------------------------------------------

    def _admin_key(self, name: str | None, known: dict[str, str]) -> str | None:
        if not name:
            return None
        k = match_key(name)
        if k in known:
            return k
        keys = self.ix.province_keys_all if known is self.ix.province_keys else self.ix.county_keys_all
        hit = process.extractOne(k, keys, scorer=OSA.distance, score_cutoff=_max_edits(k))
        if hit is not None:
            self.corrections.append({"kind": TYPO, "original": name, "result": known[hit[0]]})
            return str(hit[0])
        return k

    def _locality(self, name: str, fuzzy: bool = True) -> bool:
        ix = self.ix
        k = match_key(name)
        hits = ix.loc_by_key.get(k)
        if hits is None and fuzzy and _max_edits(k):
            hit = process.extractOne(k, ix.loc_keys_all, scorer=OSA.distance,
                                     score_cutoff=_max_edits(k))
            if hit is not None:
                hits = ix.loc_by_key[hit[0]]
                self.corrections.append({"kind": TYPO, "original": name, "result": ix.loc_name[int(hits[0])]})
        if hits is None:
            return False
        for i in hits.tolist():
            self.loc_ev.setdefault(i, name)
        return True

    def _neighbourhood(self, name: str, fuzzy: bool) -> bool:
        ix = self.ix
        k = match_key(name)
        hits = ix.nb_by_key.get(k)
        if hits is None and fuzzy and _max_edits(k):
            hit = process.extractOne(k, ix.nb_keys_all, scorer=OSA.distance,
                                     score_cutoff=_max_edits(k))
            if hit is not None:
                hits = ix.nb_by_key[hit[0]]
                self.corrections.append({"kind": TYPO, "original": name, "result": ix.nb_name[int(hits[0])]})
        if hits is None:
            return False
        for i in hits.tolist():
            self.nb_ev.setdefault(i, name)
        return True

    def _restrict(self, key: str) -> list[int]:
        """Thoroughfares with a key inside the filters, and inside the named localities when any has some."""
        ix = self.ix
        ths = ix.th_by_key[key]
        if len(ths) <= LOCALITY_GROUPED:
            return self._restrict_small(ths.tolist())
        if self.loc_ev:
            groups = ix.th_loc_groups[key]
            allowed = self.allowed
            inside = [t for loc in self.loc_ev if allowed is None or allowed[loc] for t in groups.get(loc, ())]
            if inside:
                return sorted(inside)  # the order filtering the whole array gives
        return self._restrict_array(ths).tolist()

    def _restrict_small(self, ths: list[int]) -> list[int]:
        """:meth:`_restrict_array` in plain Python: for a few thoroughfares numpy's per-call cost dominates."""
        th_loc = self.ix.v_th_loc
        if self.allowed is not None:
            allowed = self.allowed
            ths = [t for t in ths if allowed[th_loc[t]]]
        if self.loc_ev and ths:
            loc_ev = self.loc_ev
            inside = [t for t in ths if th_loc[t] in loc_ev]
            if inside:
                return inside
        return ths

    def _restrict_array(self, ths: np.ndarray) -> np.ndarray:
        ix = self.ix
        if self.allowed is not None:
            ths = ths[self.allowed[ix.th_loc[ths]]]
        if self.loc_ev and len(ths):
            if self.loc_mask is None:
                self.loc_mask = np.zeros(len(ix.loc_id), dtype=bool)
                self.loc_mask[list(self.loc_ev)] = True
            inside = ths[self.loc_mask[ix.th_loc[ths]]]
            if len(inside):
                return inside
        return ths

    def _thoroughfare(self, type_word: str, name: str) -> dict[int, float]:
        ix = self.ix
        k = match_key(name)
        if not k:
            return {}
        if k in ix.th_by_key:
            ths = self._restrict(k)
            if ths:
                return dict.fromkeys(ths, 1.0)
        maxd = _max_edits(k)
        if not maxd:
            return {}
        out: dict[int, float] = {}
        for key, dist, _ in process.extract(k, ix.th_keys_all, scorer=OSA.distance,
                                            score_cutoff=maxd, limit=4):
            ths = self._restrict(key)
            if ths:
                q = 1.0 - 0.15 * dist
                for t in ths:
                    out[t] = max(out.get(t, 0.0), q)
                if not any(c["original"] == name for c in self.corrections):
                    self.corrections.append({"kind": TYPO, "original": name, "result": ix.th_name[int(ths[0])]})
        return out

    # -- scoring -------------------------------------------------------------------------

    def _area_score(self, loc: int, nb: int, matched: dict[str, Any], conflicts: list[str]) -> float:
        ix = self.ix
        s = 0.0
        if self.loc_ev:
            if loc in self.loc_ev:
                s += W_LOCALITY
                if self.q.locality_type:
                    s += 0.5 if self.q.locality_type == ix.loc_type[loc] else -0.5
                matched["locality"] = (self.loc_ev[loc], ix.loc_name[loc])
            else:
                s -= W_LOCALITY
                conflicts.append("locality")
        if self.prov_key:
            if ix.v_loc_province_key[loc] == self.prov_key:
                s += W_ADMIN
                matched["province"] = ix.loc_province[loc]
            else:
                s -= W_ADMIN * 2
                conflicts.append("province")
        if self.county_key:
            if ix.v_loc_county_key[loc] == self.county_key:
                s += W_ADMIN
                matched["county"] = ix.loc_county[loc]
            else:
                s -= W_ADMIN
                conflicts.append("county")
        if self.nb_ev:
            if nb in self.nb_ev:
                s += W_NB
                matched["neighbourhood"] = (self.nb_ev[nb], ix.nb_name[nb])
            else:
                s -= W_NB * 0.5
        return s

    def _street_score(self, last: int, prev: int, matched: dict[str, Any], conflicts: list[str]) -> float:
        """Score the (prev, last) pair of a building or thoroughfare against the written thoroughfares."""
        ix = self.ix
        ths = self.q.thoroughfares
        if not ths:
            return 0.0
        n = len(ths)
        best_last, li = 0.0, -1
        for i, m in enumerate(self.th_match):
            v = m.get(last, 0.0)
            if v:
                v = v * W_LAST + (0.2 if i == n - 1 else 0.0)
                v += W_TYPE if self.th_type[i] == ix.th_type_key[last] else -W_TYPE
                if v > best_last:
                    best_last, li = v, i
        if li < 0:
            conflicts.append("last_thoroughfare")
            return -P_CONFLICT
        matched["last_thoroughfare"] = (self.th_written[li], last)
        s = best_last
        grand = ix.v_th_prev[prev] if prev >= 0 else -1
        for j, m in enumerate(self.th_match):
            if j == li:
                continue
            v = m.get(prev, 0.0) if prev >= 0 else 0.0
            if v and "prev_thoroughfare" not in matched:
                s += v * W_PREV
                matched["prev_thoroughfare"] = (self.th_written[j], prev)
            elif grand >= 0 and m.get(grand, 0.0):
                s += 0.5  # a larger street above the prev one: consistent, adds little
            else:
                s -= 1.0
                conflicts.append("prev_thoroughfare")
        return s

    def _near(self, lat: float, lon: float) -> float:
        if self.near is None or math.isnan(lat):
            return 0.0
        return 1.5 * math.exp(-_km(self.near[0], self.near[1], lat, lon) / NEAR_KM)

    def _building(self, b: int, extra: float = 0.0) -> Candidate:
        """Score a building and resolve its unit from floor/unit."""
        ix = self.ix
        q = self.q
        matched: dict[str, Any] = {}
        conflicts: list[str] = []
        s = extra + self._area_score(ix.v_b_loc[b], ix.v_b_nb[b], matched, conflicts)
        s += self._street_score(ix.v_b_last[b], ix.v_b_prev[b], matched, conflicts)
        if q.plate:
            if ix.v_b_key[b] & _PLATE_MASK == self.plate_code:
                s += W_PLATE
                matched["plate"] = ix.b_plate[b]
            else:
                s -= P_CONFLICT
                conflicts.append("plate")
        if self.entrance_key is not None:
            if unit_key(ix.b_entrance[b]) == self.entrance_key:
                s += W_ENTRANCE
                matched["entrance"] = ix.b_entrance[b]
            else:
                s -= W_ENTRANCE
                conflicts.append("entrance")
        if q.building and ix.b_name[b]:
            if OSA.distance(match_key(q.building), match_key(ix.b_name[b])) <= 2:
                s += 1.0
                matched["building"] = ix.b_name[b]
        lat, lon = ix.v_b_lat[b], ix.v_b_lon[b]
        if self.near is not None:
            s += self._near(lat, lon)
        lo, hi = ix.v_b_u_off[b], ix.v_b_u_off[b + 1]
        chosen = -1
        if self.unit_key is not None:
            keys = ix.u_unit_key[lo:hi]  # slicing and counting run in C: towers have hundreds of units
            n_hits = keys.count(self.unit_key)
            hits = [lo + keys.index(self.unit_key)] if n_hits == 1 else [
                lo + i for i, k in enumerate(keys) if k == self.unit_key] if n_hits else []
            if q.floor is not None and len(hits) > 1:
                hits = [u for u in hits if ix.v_u_floor[u] == q.floor] or hits
            if len(hits) == 1:
                chosen = hits[0]
                s += W_UNIT
                matched["unit"] = ix.u_unit[chosen]
                if q.floor is not None:
                    if ix.v_u_floor[chosen] == q.floor:
                        s += W_FLOOR
                        matched["floor"] = str(q.floor)
                    else:
                        s -= W_FLOOR
                        conflicts.append("floor")
            elif hi - lo == 1 and self.unit_key in ("1", ""):
                chosen = lo
            else:
                s -= W_UNIT
                conflicts.append("unit")
        elif q.floor is not None:
            floors = ix.v_u_floor[lo:hi].tolist()
            n_hits = floors.count(q.floor)
            if n_hits == 1:
                chosen = lo + floors.index(q.floor)
                s += W_FLOOR
                matched["floor"] = str(q.floor)
            elif not n_hits and hi - lo > 1:
                conflicts.append("floor")
                s -= W_FLOOR
        if chosen < 0 and hi - lo == 1:
            chosen = lo
        bid = ix.v_b_id[b]
        if chosen >= 0:
            return Candidate("unit", from_int(ix.v_u_postcode[chosen]), 0.0, lat, lon, "", s,
                             evidence=matched, conflicts=conflicts, building_id=bid, ref_b=b, ref_u=chosen)
        return Candidate("building", None, 0.0, lat, lon, "", s, evidence=matched, conflicts=conflicts,
                         building_id=bid, ref_b=b)

    def _thoroughfare_candidate(self, t: int) -> Candidate:
        ix = self.ix
        matched: dict[str, Any] = {}
        conflicts: list[str] = []
        s = self._area_score(ix.v_th_loc[t], ix.v_th_nb[t], matched, conflicts)
        s += self._street_score(t, ix.v_th_prev[t], matched, conflicts)
        lat, lon = float(ix.th_lat[t]), float(ix.th_lon[t])
        s += self._near(lat, lon)
        return Candidate("thoroughfare", None, 0.0, lat, lon, "", s, evidence=matched, conflicts=conflicts,
                         ref_t=t)

    def _area_candidates(self) -> list[Candidate]:
        ix = self.ix
        out: list[Candidate] = []
        for nb in list(self.nb_ev)[:50]:
            loc = int(ix.nb_loc[nb])
            if self.allowed is not None and not self.allowed[loc]:
                continue
            matched: dict[str, Any] = {}
            conflicts: list[str] = []
            s = self._area_score(loc, nb, matched, conflicts)
            text = f"استان {ix.loc_province[loc]}، شهرستان {ix.loc_county[loc]}، {ix.loc_type[loc]} " \
                   f"{ix.loc_name[loc]}، محله {ix.nb_name[nb]}"
            lat, lon = float(ix.loc_lat[loc]), float(ix.loc_lon[loc])
            out.append(Candidate("neighbourhood", None, 0.0, lat, lon, text, s + self._near(lat, lon),
                                 evidence=matched, conflicts=conflicts))
        locs = list(self.loc_ev)[:50]
        if not locs and not out and (self.prov_key or self.county_key):
            return out
        for loc in locs:
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

    # -- the search ----------------------------------------------------------------------

    def _buildings_with_plate(self) -> list[int]:
        ix = self.ix
        if self.plate_code < 0:
            return []
        ths = sorted({t for m in self.th_match for t in m})
        if not ths:
            return []
        out: list[int] = []
        if len(ths) <= _SMALL:  # a binary search per thoroughfare beats numpy's per-call cost
            b_key, code = ix.v_b_key, self.plate_code
            for t in ths:
                key = t << PLATE_SHIFT | code
                a = bisect_left(b_key, key)
                if a < len(b_key) and b_key[a] == key:
                    out.extend(range(a, bisect_right(b_key, key, a)))
                    if len(out) > MAX_BUILDINGS:
                        break
            return out
        keys = (np.array(ths, dtype=np.int64) << PLATE_SHIFT) | self.plate_code
        lo = np.searchsorted(ix.b_key, keys, side="left")
        hi = np.searchsorted(ix.b_key, keys, side="right")
        found = hi > lo
        for a, z in zip(lo[found].tolist(), hi[found].tolist(), strict=True):
            out.extend(range(a, z))
            if len(out) > MAX_BUILDINGS:
                break
        return out

    def _prune(self, bs: list[int]) -> list[int]:
        """The buildings that can still reach the top ``limit`` (in their order); the others are not scored.

        A street named «کوچه ۱۲» without its city finds hundreds of buildings with the plate. Each
        one's area and street scores are computed together in numpy (:meth:`_base_scores`); the rest
        of its score (unit, floor, entrance, name, nearness) lies in known bounds. A building whose
        best case is below the k-th best worst case cannot be among the top k, so it is dropped.
        """
        k = max(self.limit, 2)  # the runner-up sets the top candidate's margin
        if len(bs) <= max(PRUNE_ABOVE, k):
            return bs
        arr = np.array(bs, dtype=np.int64)
        base = self._base_scores(arr) + self._unit_scores(arr)
        lo, hi = self._detail_bounds()
        worst = base + lo
        threshold = np.partition(worst, len(worst) - k)[len(worst) - k]
        keep = (base + hi >= threshold - 1e-6).tolist()
        return [b for b, ok in zip(bs, keep, strict=True) if ok]

    def _unit_scores(self, bs: np.ndarray) -> np.ndarray:
        """What the unit and floor add in :meth:`_building`, for many buildings at once (same rules)."""
        q = self.q
        ix = self.ix
        out = np.zeros(len(bs))
        if self.unit_key is None and q.floor is None:
            return out
        lo = ix.b_u_off[bs]
        n = ix.b_u_off[bs + 1] - lo
        seg = np.repeat(np.arange(len(bs)), n)  # each unit's position in bs
        units = lo[seg] + (np.arange(len(seg)) - np.repeat(np.cumsum(n) - n, n))
        floor_ok = ix.u_floor[units] == q.floor if q.floor is not None else np.zeros(len(units), dtype=bool)
        floors = np.bincount(seg, weights=floor_ok, minlength=len(bs))
        if self.unit_key is None:  # floor only: one unit on it, or none in a building of several
            return np.where(floors == 1, W_FLOOR, np.where((floors == 0) & (n > 1), -W_FLOOR, 0.0))
        key_ok = ix.u_unit_key_arr[units] == self.unit_key
        keys = np.bincount(seg, weights=key_ok, minlength=len(bs))
        both = np.bincount(seg, weights=key_ok & floor_ok, minlength=len(bs))
        hits = np.where((keys > 1) & (both > 0), both, keys) if q.floor is not None else keys
        found = W_UNIT + (np.where(both >= 1, W_FLOOR, -W_FLOOR) if q.floor is not None else 0.0)
        single = (n == 1) & (self.unit_key in ("1", ""))
        return np.where(hits == 1, found, np.where(single, 0.0, -W_UNIT))

    def _detail_bounds(self) -> tuple[float, float]:
        """Lowest and highest score :meth:`_building` adds beyond area, street, plate, unit and floor."""
        q = self.q
        lo = hi = 0.0
        if self.entrance_key is not None:
            lo, hi = lo - W_ENTRANCE, hi + W_ENTRANCE
        if q.building:
            hi += 1.0
        if self.near is not None:
            hi += 1.5
        return lo, hi

    def _base_scores(self, bs: np.ndarray) -> np.ndarray:
        """:meth:`_area_score` + :meth:`_street_score` + the plate's weight, for many buildings at once."""
        ix = self.ix
        q = self.q
        loc, nb = ix.b_loc[bs], ix.b_nb[bs]
        s = np.zeros(len(bs))
        if self.loc_ev:
            inside = np.isin(loc, np.fromiter(self.loc_ev, np.int64, len(self.loc_ev)))
            named = np.full(len(bs), W_LOCALITY)
            if q.locality_type:
                named += np.where(ix.loc_type_arr[loc] == q.locality_type, 0.5, -0.5)
            s += np.where(inside, named, -W_LOCALITY)
        if self.prov_key:
            s += np.where(ix.loc_province_key[loc] == self.prov_key, W_ADMIN, -W_ADMIN * 2)
        if self.county_key:
            s += np.where(ix.loc_county_key[loc] == self.county_key, W_ADMIN, -W_ADMIN)
        if self.nb_ev:
            s += np.where(np.isin(nb, np.fromiter(self.nb_ev, np.int64, len(self.nb_ev))), W_NB, -W_NB * 0.5)
        if q.thoroughfares:
            s += self._street_scores(ix.b_last[bs].astype(np.int64), ix.b_prev[bs].astype(np.int64))
        if q.plate:
            s += W_PLATE  # every building here was found by its plate
        return s

    def _street_scores(self, last: np.ndarray, prev: np.ndarray) -> np.ndarray:
        """:meth:`_street_score` for many (last, prev) pairs: the same rules, written thoroughfare by thoroughfare."""
        ix = self.ix
        n = len(self.th_match)
        lookups = [_Lookup(m) for m in self.th_match]
        best = np.zeros(len(last))
        li = np.full(len(last), -1)
        last_type = ix.th_type_key_arr[last]
        for i, lk in enumerate(lookups):
            qv = lk(last)
            v = qv * W_LAST + (0.2 if i == n - 1 else 0.0)
            v = v + np.where(last_type == self.th_type[i], W_TYPE, -W_TYPE)
            better = (qv > 0) & (v > best)
            best = np.where(better, v, best)
            li = np.where(better, i, li)
        has_prev = prev >= 0
        grand = np.where(has_prev, ix.th_prev[np.maximum(prev, 0)], -1).astype(np.int64)
        took_prev = np.zeros(len(last), dtype=bool)
        for j, lk in enumerate(lookups):
            other = li != j
            qp = np.where(has_prev, lk(prev), 0.0)
            first = other & (qp > 0) & ~took_prev
            best += np.where(first, qp * W_PREV, 0.0)
            took_prev |= first
            up = other & ~first & (grand >= 0) & (lk(grand) > 0)
            best += np.where(up, 0.5, 0.0)
            best -= np.where(other & ~first & ~up, 1.0, 0.0)
        return np.where(li >= 0, best, -P_CONFLICT)

    def run(self) -> list[Candidate]:
        """Generate, score and rank candidates."""
        ix = self.ix
        q = self.q
        cands: list[Candidate] = []
        pc_building = -1
        if q.postcode:
            u = ix.unit_by_postcode(int(q.postcode))
            if u >= 0:
                pc_building = int(ix.u_b[u])
                c = self._building(pc_building, W_POSTCODE)
                if c.level != "unit" or c.postcode != q.postcode:
                    c = Candidate("unit", q.postcode, 0.0, c.lat, c.lon, "",
                                  c.score + (W_UNIT if c.level == "building" and not q.unit else 0.0),
                                  evidence=c.evidence, conflicts=c.conflicts, building_id=c.building_id,
                                  ref_b=pc_building, ref_u=u)
                c.evidence["postcode"] = q.postcode
                cands.append(c)
            else:
                self.ignored.append(f"{q.postcode} (postcode not in the registry)")
        for b in self._prune(self._buildings_with_plate()):
            if b == pc_building:
                continue
            c = self._building(b)
            if q.postcode and pc_building >= 0:
                c.conflicts.append("postcode")
                c.score -= 1.0
            cands.append(c)
        has_building = any(c.level in ("unit", "building") for c in cands)
        if not has_building or not q.plate:
            ths = {t for m in self.th_match for t in m}
            if len(ths) > MAX_BUILDINGS:
                ths = set(sorted(ths)[:MAX_BUILDINGS])
            th_c = [self._thoroughfare_candidate(t) for t in ths]
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

    def _finish(self, cands: list[Candidate]) -> list[Candidate]:
        if not cands:
            return []
        top = cands[0]
        second = cands[1].score if len(cands) > 1 else None
        margin = top.score - second if second is not None else 99.0
        ix = self.ix
        for i, c in enumerate(cands[: self.limit]):
            if c.ref_b >= 0 or c.ref_t >= 0:
                c.index = ix  # the address text and unit postcodes are made only if asked for
            m = margin if i == 0 else (c.score - top.score)
            c.margin = m
            c.confidence = calibrated(c.level, m, bool(c.conflicts), len(c.evidence))
        return cands[: self.limit]


class Geocoder:
    """Geocode addresses against an in-memory index of a registry."""

    def __init__(self, index: GeocodeIndex) -> None:
        self.index = index

    @classmethod
    def from_registry(cls, reg: Registry) -> Geocoder:
        """Build the index from an open registry."""
        return cls(GeocodeIndex(reg))

    def geocode(self, text: str, limit: int = 5, province: str | None = None, county: str | None = None,
                locality: str | None = None, near: tuple[float, float] | None = None) -> GeocodeResult:
        """Geocode a free-text address; never raises on any ``str``."""
        reason = _reject(text)
        if reason:
            return GeocodeResult(text if isinstance(text, str) else "", [], reason=reason)
        parsed = parse_address(text)
        if parsed.is_empty:
            return GeocodeResult(text, [], ignored=list(parsed.ignored), reason="no address parts recognised")
        return self._search(text, Query.from_parsed(parsed), limit, province, county, locality, near)

    def geocode_structured(self, fields: dict[str, Any], limit: int = 5, near: tuple[float, float] | None = None,
                           ) -> GeocodeResult:
        """Geocode fields (province, county, locality, neighbourhood, street(s), plate, entrance, floor, unit)."""
        streets: list[str] = []
        for k in ("streets", "thoroughfares"):
            v = fields.get(k)
            if isinstance(v, list | tuple):
                streets.extend(str(x) for x in v if x)
        for k in ("prev_thoroughfare", "street", "last_thoroughfare"):
            if fields.get(k):
                streets.append(str(fields[k]))
        ths: list[tuple[str, str]] = []
        from jinef.text.parser import split_thoroughfare

        for s in streets:
            t = split_thoroughfare(s)
            ths.append((t.type_word, t.name))
        # Fields come from forms: a postcode or floor that cannot be read is set aside, never trusted.
        floor_raw = fields.get("floor")
        floor: int | None = None
        ignored: list[str] = []
        if floor_raw not in (None, ""):
            try:
                floor = int(str(floor_raw))
            except ValueError:
                ignored.append(f"{floor_raw} (floor is not a whole number)")
        postcode = _s(fields.get("postcode"))
        if postcode is not None:
            v = validate_postcode(postcode)
            if v.postcode is None:
                ignored.append(f"{postcode} (not a valid postcode: {', '.join(v.reasons)})")
            postcode = v.postcode
        q = Query(
            province=fields.get("province") or None, county=fields.get("county") or None,
            locality=fields.get("locality") or None, neighbourhood=fields.get("neighbourhood") or None,
            thoroughfares=ths, plate=_s(fields.get("plate")), entrance=_s(fields.get("entrance")),
            building=_s(fields.get("building")), floor=floor,
            unit=_s(fields.get("unit")), postcode=postcode,
        )
        res = self._search(str(fields), q, limit, None, None, None, near)
        res.ignored[:0] = ignored
        return res

    def _search(self, text: str, q: Query, limit: int, province: str | None, county: str | None,
                locality: str | None, near: tuple[float, float] | None) -> GeocodeResult:
        s = _Search(self, q, limit, province, county, locality, near)
        cands = s.run()
        reason = "" if cands else "nothing in the registry matches"
        return GeocodeResult(text, cands, corrections=s.corrections, ignored=s.ignored, reason=reason)


def _s(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


_MAX_TEXT = 2000
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f]")
_PERSIAN = re.compile("[\u0600-\u06ff0-9]")


def _reject(text: Any) -> str:
    """Why an input cannot be an address ('' when it may be one)."""
    if not isinstance(text, str):
        return "not text"
    if not text.strip():
        return "empty"
    if len(text) > _MAX_TEXT:
        return f"too long ({len(text)} characters)"
    if "\x00" in text or len(_CONTROL.findall(text)) > 3:
        return "control characters or binary data"
    if _PERSIAN.search(text) is None:
        return "no Persian text"
    if "\ufffd" in text:
        return "undecodable bytes"
    return ""
