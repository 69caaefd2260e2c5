"""The geocoder's answers from units changed since the read image (the overlay of the change feed).

Changed units are few (the day's new buildings and edits), so each is scored directly from its address with
the same weights (:mod:`jinef.read.geocode.weights`) the image search uses, and the two lists are merged before
confidences are calibrated: a new building answers its own address like any other, and an image answer whose
unit changed since is replaced by the unit as it is now (or dropped once retired).
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from jinef.model.address import Address
from jinef.read.geocode import weights as W
from jinef.read.geocode.index import unit_key
from jinef.read.geocode.results import Candidate, Query
from jinef.read.registry.overlay import Overlay
from jinef.text.keys import match_key
from jinef.text.parser import split_thoroughfare

_split = lru_cache(maxsize=1 << 16)(split_thoroughfare)  # the same stored street text comes with many queries


def _same(written: str | None, stored: str) -> bool:
    return bool(written) and bool(stored) and match_key(written or "") == match_key(stored)


def _street(q: Query, stored: str, weight: float, matched: dict[str, Any], level: str) -> float:
    """Score of one stored thoroughfare against the written ones (name, then its type word)."""
    if not stored:
        return 0.0
    t = _split(stored)
    for i, (type_word, name) in enumerate(q.thoroughfares):
        if _same(name, t.name):
            s = weight + (W.TYPE if type_word and _same(type_word, t.type_word) else 0.0)
            if level == "last" and i == len(q.thoroughfares) - 1:
                s += W.LAST_POSITION
            matched[f"{level}_thoroughfare"] = (f"{type_word} {name}".strip(), stored)
            return s
    return 0.0


def _label(written: str | None, stored: str, name: str, agree: float, disagree: float, matched: dict[str, Any],
           conflicts: list[str]) -> float:
    """A written plate or entrance: worth ``agree`` when it is the building's, costs ``disagree`` when not."""
    if not written:
        return 0.0
    if unit_key(written) == unit_key(stored):
        matched[name] = stored
        return agree
    conflicts.append(name)
    return -disagree


def _building_score(q: Query, a: Address, matched: dict[str, Any], conflicts: list[str]) -> float | None:
    """A changed building's score against the query, None when it is not a candidate at all."""
    if q.locality and not _same(q.locality, a.locality):
        return None
    s = 0.0
    for written, stored, weight, name in ((q.province, a.province, W.ADMIN, "province"),
                                          (q.county, a.county, W.ADMIN, "county"),
                                          (q.locality, a.locality, W.LOCALITY, "locality"),
                                          (q.neighbourhood, a.neighbourhood, W.NEIGHBOURHOOD, "neighbourhood")):
        if written and _same(written, stored):
            s += weight
            matched[name] = (written, stored)
        elif written and name == "county":
            s -= W.ADMIN
            conflicts.append(name)
    last = _street(q, a.last_thoroughfare, W.LAST, matched, "last")
    if q.thoroughfares and not last and not (q.postcode and q.postcode == a.postcode):
        return None  # the street written is not this building's
    s += last + _street(q, a.prev_thoroughfare, W.PREV, matched, "prev")
    s += _label(q.plate, a.plate, "plate", W.PLATE, W.CONFLICT, matched, conflicts)
    s += _label(q.entrance, a.entrance, "entrance", W.ENTRANCE, W.ENTRANCE, matched, conflicts)
    if q.building and a.building and _same(q.building, a.building):
        s += W.BUILDING_NAME
        matched["building"] = a.building
    return s


class _Named:
    """Changed buildings by their last street's name key and by locality key, remade when the overlay grew: a
    query then scores only the changed buildings it could name, however many changes the day brought."""

    def __init__(self, overlay: Overlay) -> None:
        self.seq = overlay.seq
        self.by_street: dict[str, set[int]] = defaultdict(set)
        self.by_locality: dict[str, set[int]] = defaultdict(set)
        for building_id, units in list(overlay.buildings.items()):
            for a in list(units.values()):
                self.by_street[match_key(_split(a.last_thoroughfare).name)].add(building_id)
                self.by_locality[match_key(a.locality)].add(building_id)


_NAMED: weakref.WeakKeyDictionary[Overlay, _Named] = weakref.WeakKeyDictionary()


def _named(overlay: Overlay) -> _Named:
    named = _NAMED.get(overlay)
    if named is None or named.seq != overlay.seq:
        named = _NAMED[overlay] = _Named(overlay)
    return named


def _buildings_named(q: Query, overlay: Overlay, localities: Sequence[str]) -> set[int]:
    """The changed buildings a query can match: on a street it names, of a postcode it gives, in its locality
    (``localities``: the names of those the search resolved the query to, however the query wrote them)."""
    named = _named(overlay)
    keys = {match_key(n) for n in localities} | ({match_key(q.locality)} if q.locality else set())
    in_named = set().union(*(named.by_locality.get(k, set()) for k in keys)) if keys else set()
    if q.thoroughfares:
        found = set().union(*(named.by_street.get(match_key(name), set()) for _, name in q.thoroughfares))
        if keys:  # a common street name is in many places: only those in the named localities
            found &= in_named
    elif keys:
        found = in_named
    else:
        found = set(overlay.buildings)
    if q.postcode and q.postcode.isdigit() and (a := overlay.units.get(int(q.postcode))) is not None \
            and a.building_id is not None:
        found.add(a.building_id)
    return found


def changed_candidates(q: Query, overlay: Overlay, localities: Sequence[str] = ()) -> list[Candidate]:
    """Candidates among the changed units' buildings, scored as the image search scores its own."""
    out = []
    for building_id in _buildings_named(q, overlay, localities):
        units = sorted((a for a in list(overlay.buildings.get(building_id, {}).values()) if a.status == "active"),
                       key=lambda a: a.postcode)
        if not units:
            continue
        matched: dict[str, Any] = {}
        conflicts: list[str] = []
        base = _building_score(q, units[0], matched, conflicts)
        if base is None:
            continue
        chosen: Address | None = None
        s = base
        if q.postcode:
            hit = [a for a in units if a.postcode == q.postcode]
            if hit:
                chosen, s = hit[0], s + W.POSTCODE
                matched["postcode"] = q.postcode
        if chosen is None and q.unit:
            hits = [a for a in units if unit_key(a.unit) == unit_key(q.unit)]
            if q.floor is not None and len(hits) > 1:
                hits = [a for a in hits if a.floor == q.floor] or hits
            if len(hits) == 1:
                chosen, s = hits[0], s + W.UNIT
                matched["unit"] = hits[0].unit
            else:
                s -= W.UNIT
                conflicts.append("unit")
        if chosen is None and q.floor is not None:
            on_floor = [a for a in units if a.floor == q.floor]
            if len(on_floor) == 1:
                chosen, s = on_floor[0], s + W.FLOOR
                matched["floor"] = str(q.floor)
        if chosen is None and len(units) == 1:
            chosen = units[0]
        for k, v in matched.items():  # the evidence as the image's candidates show it
            if isinstance(v, tuple):
                matched[k] = f"{v[0]} → {v[1]}"
        a = chosen or units[0]
        level = "unit" if chosen is not None else "building"
        c = Candidate(level, chosen.postcode if chosen else None, 0.0, a.lat, a.lon,
                      a.standard_address if chosen else _building_text(a), s, evidence=matched,
                      conflicts=conflicts, building_id=building_id)
        c.pcs = [u.postcode for u in units] if level == "building" else []
        out.append(c)
    return out


def _building_text(a: Address) -> str:
    """A building's address: the unit's without floor and unit."""
    from dataclasses import replace

    return replace(a, floor=None, unit="").standard_address


def merge_changed(image: list[Candidate], q: Query, overlay: Overlay, localities: Sequence[str]) -> list[Candidate]:
    """The image's candidates with changed units replaced or dropped, and the changed units' own, by score."""
    units = overlay.units
    changed = changed_candidates(q, overlay, localities)
    by_building = {c.building_id: c for c in changed if c.level == "building"}
    kept = []
    for c in image:
        if c.postcode is not None and int(c.postcode) in units:
            continue  # answered by ``changed`` from the unit as it is now (or not at all once retired)
        if c.level == "building" and c.building_id is not None and c.building_id in overlay.buildings:
            pcs = [p for p in c.unit_postcodes
                   if (a := units.get(int(p))) is None or (a.status == "active" and a.building_id == c.building_id)]
            twin = by_building.get(c.building_id)
            if twin is not None:  # the same building found twice: one answer with all its units
                twin.pcs = sorted(set(pcs) | set(twin.pcs or []))
                twin.score = max(twin.score, c.score)
                continue
            pcs += [a.postcode for a in overlay.buildings[c.building_id].values()
                    if a.status == "active" and a.postcode not in pcs]
            c.pcs = sorted(pcs)
        kept.append(c)
    kept.extend(changed)
    kept.sort(key=lambda c: -c.score)
    return kept
