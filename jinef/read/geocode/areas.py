"""What a query says about where it is: provinces, counties, localities and neighbourhoods it names.

Every written area name is looked up by match key (with a typo allowance for longer names), and the
unlabelled parts the parser could not place («تهران تهران», «ساوه») are read word span by word span
against the gazetteer, longest span first, so a locality named alone — a small town or a village written
with no «شهر» or «روستای» — is still found. The named localities (directly, or through a named
neighbourhood) then bound the search for streets: a query's work depends on what it names, not on the size
of the country.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import OSA

from jinef.read.geocode.index import GeocodeIndex
from jinef.read.geocode.results import Query
from jinef.text.keys import match_key

TYPO = "typo"


def max_edits(key: str) -> int:
    """Edits allowed when matching a name's key: none for numbers and short names («کوچه ۱۲» ≠ «کوچه ۱۳»)."""
    if key.isdigit() or len(key) < 4:
        return 0
    return 2 if len(key) >= 7 else 1


class Areas:
    """The area evidence of one query."""

    def __init__(self, ix: GeocodeIndex, q: Query, province: str | None, county: str | None,
                 locality: str | None, corrections: list[dict[str, str]], ignored: list[str]) -> None:
        self.ix = ix
        self.corrections = corrections
        self.ignored = ignored
        # Hard filters (the caller's, not the text's) → allowed localities (None: all).
        self.allowed: np.ndarray | None = None
        if province or county or locality:
            mask = np.ones(ix.n_loc, dtype=bool)
            if province:
                mask &= np.isin(ix.loc_province_row, ix.province_rows.get(match_key(province), []))
            if county:
                mask &= np.isin(ix.loc_county_row, ix.county_rows.get(match_key(county), []))
            if locality:
                lm = np.zeros(ix.n_loc, dtype=bool)
                lm[ix.localities.of(match_key(locality))] = True
                mask &= lm
            self.allowed = mask
        self.prov_key = self._admin_key(q.province, ix.province_rows, ix.province_keys_all)
        self.county_key = self._admin_key(q.county, ix.county_rows, ix.county_keys_all)
        self.loc_ev: dict[int, str] = {}  # locality row → the input that named it
        self.nb_ev: dict[int, str] = {}
        if q.locality:
            self.locality(q.locality)
        self.unplaced_neighbourhood: str | None = None  # a «محله …» no neighbourhood is called
        if q.neighbourhood and not self.neighbourhood(q.neighbourhood, fuzzy=True):
            self.unplaced_neighbourhood = q.neighbourhood
        for place in q.places:
            self._place(place)

    # -- names ---------------------------------------------------------------------------

    def _admin_key(self, name: str | None, known: dict[str, list[int]], keys: list[str]) -> str | None:
        if not name:
            return None
        k = match_key(name)
        if k in known:
            return k
        hit = process.extractOne(k, keys, scorer=OSA.distance, score_cutoff=max_edits(k))
        if hit is not None:
            names = self.ix.province_names if known is self.ix.province_rows else self.ix.county_names
            self.corrections.append({"kind": TYPO, "original": name, "result": names[known[hit[0]][0]]})
            return str(hit[0])
        return k

    def _closest(self, key: str, keys: list[str]) -> list[str]:
        """The known keys within a typo of ``key``, all those at the smallest distance («سیجان» is one letter from
        both «سیرجان» and «سیدان»: the rest of the address decides, not the order of a list)."""
        hits = process.extract(key, keys, scorer=OSA.distance, score_cutoff=max_edits(key), limit=12)
        if not hits:
            return []
        best = min(d for _, d, _ in hits)
        return [k for k, d, _ in hits if d == best]

    def locality(self, name: str, fuzzy: bool = True) -> bool:
        """Add the localities a name names (exactly, else within a typo's distance); False when none."""
        ix = self.ix
        k = match_key(name)
        hits = ix.localities.of(k)
        if not len(hits) and fuzzy and max_edits(k):
            close = self._closest(k, ix.localities.keys)
            if close:
                hits = np.concatenate([ix.localities.of(c) for c in close])
                self.corrections.append({"kind": TYPO, "original": name, "result": ix.loc_name[int(hits[0])]})
        if not len(hits):
            return False
        for i in hits.tolist():
            self.loc_ev.setdefault(i, name)
        return True

    def neighbourhood(self, name: str, fuzzy: bool) -> bool:
        """Add the neighbourhoods a name names; False when none."""
        ix = self.ix
        k = match_key(name)
        hits = ix.neighbourhoods.of(k)
        if not len(hits) and fuzzy and max_edits(k):
            close = self._closest(k, ix.neighbourhoods.keys)
            if close:
                hits = np.concatenate([ix.neighbourhoods.of(c) for c in close])
                self.corrections.append({"kind": TYPO, "original": name, "result": ix.nb_name[int(hits[0])]})
        if not len(hits):
            return False
        for i in hits.tolist():
            self.nb_ev.setdefault(i, name)
        return True

    def _span(self, text: str) -> bool:
        """One span of an unlabelled part: a locality, a neighbourhood, or a province or county name."""
        if self.locality(text, fuzzy=False) | self.neighbourhood(text, fuzzy=False):
            return True
        k = match_key(text)
        if k in self.ix.province_rows:
            if self.prov_key is None:
                self.prov_key = k
            return True
        if k in self.ix.county_rows:
            if self.county_key is None:
                self.county_key = k
            return True
        return False

    def _place(self, place: str) -> None:
        """An unlabelled part: the whole of it; else its word spans, longest first; and when words are left over,
        the whole of it within a typo, which then stands instead of the spans («احمد آباد مسفوفی» is the town
        «احمد آباد مستوفی», not the villages «احمدآباد» and an unknown word)."""
        if self._span(place):
            return
        words = place.split()
        before = (dict(self.loc_ev), dict(self.nb_ev), self.prov_key, self.county_key, len(self.corrections))
        i, unread = 0, []
        while i < len(words):
            for j in range(len(words), i, -1):
                if (j - i < len(words)) and self._span(" ".join(words[i:j])):
                    i = j
                    break
            else:
                unread.append(words[i])
                i += 1
        if not unread:
            return
        spans = (dict(self.loc_ev), dict(self.nb_ev), self.prov_key, self.county_key)
        self.loc_ev, self.nb_ev, self.prov_key, self.county_key = (dict(before[0]), dict(before[1]), before[2],
                                                                  before[3])
        if self.locality(place) or self.neighbourhood(place, fuzzy=True):
            return
        self.loc_ev, self.nb_ev, self.prov_key, self.county_key = spans
        self.ignored.append(" ".join(unread) if len(unread) < len(words) else place)

    # -- what the evidence bounds -----------------------------------------------------------

    def named_localities(self) -> list[int]:
        """Localities the search looks in (sorted; within the hard filters): those the query names, directly or
        through a neighbourhood, read in context.

        A neighbourhood name counts only inside a named locality when it is found there («شیراز، محله کوی
        خراسان» is Shiraz's, not the twelve other cities' with one of that name), and same-named localities only
        inside the named province or county when some are there. Scoring still weighs every name written.
        """
        ix = self.ix
        locs = set(self.loc_ev)
        nb_locs = {int(ix.nb_loc[nb]) for nb in self.nb_ev if ix.nb_loc[nb] >= 0}
        if not locs:
            locs = nb_locs
        elif locs & nb_locs:
            locs &= nb_locs
        if self.allowed is not None:
            locs = {loc for loc in locs if self.allowed[loc]}
        if len(locs) > 1 and (self.prov_key or self.county_key):
            inside = {loc for loc in locs if (not self.prov_key or ix.loc_province_key[loc] == self.prov_key)
                      and (not self.county_key or ix.loc_county_key[loc] == self.county_key)}
            if inside:
                locs = inside
        return sorted(locs)

    def region_mask(self) -> np.ndarray | None:
        """Localities inside the named province and county (and the hard filters); None when nothing bounds them."""
        ix = self.ix
        mask = self.allowed
        if self.prov_key and self.prov_key in ix.province_rows:
            m = np.isin(ix.loc_province_row, ix.province_rows[self.prov_key])
            mask = m if mask is None else mask & m
        if self.county_key and self.county_key in ix.county_rows:
            m = np.isin(ix.loc_county_row, ix.county_rows[self.county_key])
            mask = m if mask is None else mask & m
        return mask
