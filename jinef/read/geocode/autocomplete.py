"""Autocomplete: localities, neighbourhoods and thoroughfares suggested while a person types.

The index is a sorted vocabulary of word keys (the words of :func:`jinef.text.keys.key_tokens`
and their plain letter folds), so every query word — the last one half-typed — is a contiguous
range of word ids found with two ``np.searchsorted`` calls. Two CSR tables link words and names:
postings (word → names, in word order, so a prefix range is one slice) and each name's words
(name → words, each marked as its own word or a context word such as its locality or province).

A query takes the rarest of its words' posting slices as candidates, keeps those that match every
other word, and ranks them: per word, a match on the name itself beats one on its context and an
exact word beats a prefix; then a name starting with the first word; then size (units served).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

import numpy as np

from jinef.image.folder import ReadImage
from jinef.model.digits import to_persian_digits
from jinef.read.registry.overlay import Overlay
from jinef.text.keys import fold_tokens, key_tokens, match_key
from jinef.text.normalize import normalize

LOCALITY, NEIGHBOURHOOD, THOROUGHFARE = 0, 1, 2
LEVELS: tuple[str, ...] = ("locality", "neighbourhood", "thoroughfare")
DEFAULT_LIMIT = 8
MAX_LIMIT = 50
MAX_QUERY_WORDS = 8
# Candidates scored exactly per query; a one-letter query over a national index keeps the best of
# its seed by a cheap first score, which bounds the latency whatever the registry's size.
MAX_CANDIDATES = 4000
_TOP = "\uffff"  # sorts after every letter and digit: [w, w + _TOP) is the range of words starting with w


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggested place."""

    level: str  # locality | neighbourhood | thoroughfare
    name: str  # what was matched, as written: «اراک», «گلستان», «خیابان شهید نیکنام»
    label: str  # standard-address style, large to small: «استان مرکزی، شهرستان اراک، شهر اراک، خیابان ...»
    province: str
    county: str
    locality: str  # «شهر اراک»
    lat: float | None
    lon: float | None
    units: int  # registered units served (the popularity used in ranking)
    score: float

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        loc = None if self.lat is None or self.lon is None else {"lat": self.lat, "lon": self.lon}
        return {"level": self.level, "name": self.name, "label": self.label, "province": self.province,
                "county": self.county, "locality": self.locality, "location": loc, "units": self.units,
                "score": round(self.score, 3)}


class Autocompleter:
    """Prefix search over the registry's place names (from a read image); a query takes about a millisecond."""

    def __init__(self, image: ReadImage, overlay: Overlay | None = None) -> None:
        self.overlay = overlay  # units changed since the image: their new places are suggested too
        a = image.array
        self.vocab = image.strings("autocomplete/vocab")
        self.post_off, self.post_entry = a("autocomplete/post_off"), a("autocomplete/post_entry")
        self.post_tok, self.post_own = a("autocomplete/post_tok"), a("autocomplete/post_own")
        self.ent_off, self.ent_tok, self.ent_own = a("autocomplete/ent_off"), a("autocomplete/ent_tok"), \
            a("autocomplete/ent_own")
        self.first_tok = a("autocomplete/first_tok")
        self.level, self.locality_row = a("autocomplete/level"), a("autocomplete/locality")
        self.prior, self.units = a("autocomplete/prior"), a("autocomplete/units")
        self.lat, self.lon = a("autocomplete/lat"), a("autocomplete/lon")
        provinces = image.strings("admin/provinces.name").tolist()
        counties = image.strings("admin/counties.name").tolist()
        loc_type = image.strings("localities/type").tolist()
        self._loc_name = image.strings("localities/name").tolist()
        self.province = [provinces[p] if p >= 0 else "" for p in a("localities/province").tolist()]
        self.county = [counties[c] if c >= 0 else "" for c in a("localities/county").tolist()]
        self.locality_names = [f"{t} {n}".strip() for t, n in zip(loc_type, self._loc_name, strict=True)]
        self.locality_keys = np.array([match_key(n) for n in self._loc_name], dtype=object)
        self._nb_name = image.strings("neighbourhoods/name")
        self._th_type, self._th_name = a("thoroughfares/type"), a("thoroughfares/name")
        self._th_types = [*image.strings("thoroughfares/type.values").tolist(), ""]
        self._th_names = [*image.strings("thoroughfares/name.values").tolist(), ""]
        self._n_loc, self._n_nb = len(self._loc_name), len(self._nb_name)

    @classmethod
    def from_image(cls, image: ReadImage, overlay: Overlay | None = None) -> Autocompleter:
        """Autocomplete over a read image (and the changes since)."""
        return cls(image, overlay)

    def __len__(self) -> int:
        return len(self.level)

    def name(self, e: int) -> str:
        """What entry ``e`` is called: «اراک», «گلستان», «خیابان شهید نیکنام»."""
        if e < self._n_loc:
            return self._loc_name[e]
        if e < self._n_loc + self._n_nb:
            return self._nb_name[e - self._n_loc]
        t = e - self._n_loc - self._n_nb
        kind, name = self._th_types[self._th_type[t]], self._th_names[self._th_name[t]]
        return f"{kind} {name}".strip() if name else kind

    def _prefix(self, lr: int) -> str:
        return to_persian_digits(f"استان {self.province[lr]}، شهرستان {self.county[lr]}، {self.locality_names[lr]}")

    def label(self, e: int) -> str:
        """Entry ``e`` in standard-address style, large to small."""
        lr = int(self.locality_row[e])
        name = self.name(e)
        if lr < 0:
            return name
        if e < self._n_loc:
            return self._prefix(lr)
        if e < self._n_loc + self._n_nb:
            return f"{self._prefix(lr)}، محله {to_persian_digits(name)}"
        return f"{self._prefix(lr)}، {to_persian_digits(name)}"

    # -- querying -------------------------------------------------------------------------------

    def _ranges(self, alternatives: list[str]) -> list[tuple[int, int, int]]:
        """(first, end, exact) word ids for each spelling of a query word; exact is -1 when no word equals it."""
        out = []
        for w in alternatives:
            lo = bisect_left(self.vocab, w)
            hi = bisect_left(self.vocab, w + _TOP, lo)
            if hi > lo:
                out.append((lo, hi, lo if self.vocab[lo] == w else -1))
        return out

    @staticmethod
    def query_words(q: str) -> list[list[str]]:
        """The query's words, each with its spellings; the last one also as typed when it may be half-typed."""
        text = normalize(q)
        keys = key_tokens(text)
        if not keys:
            return []
        folds = fold_tokens(text)
        if len(folds) == len(keys):
            alts = [list(dict.fromkeys([k, f])) for k, f in zip(keys, folds, strict=True)]
        else:
            alts = [[k] for k in keys]
            if folds and folds[-1] not in alts[-1]:
                alts[-1].append(folds[-1])  # «دو» typed towards «دولت»: not only the number 2
        return alts[-MAX_QUERY_WORDS:]

    def _quality(self, cand: np.ndarray, ranges: list[tuple[int, int, int]]) -> np.ndarray:
        """Best match of one query word per candidate: 4 own exact, 3 own prefix, 2 context exact, 1 context prefix."""
        starts, ends = self.ent_off[cand], self.ent_off[cand + 1]
        lens = ends - starts
        total = int(lens.sum())
        group = np.zeros(len(cand), dtype=np.int64)
        np.cumsum(lens[:-1], out=group[1:])
        idx = np.arange(total) - np.repeat(group, lens) + np.repeat(starts, lens)
        toks, own = self.ent_tok[idx], self.ent_own[idx]
        best = np.zeros(total, dtype=np.int8)
        for lo, hi, exact in ranges:
            val = ((toks >= lo) & (toks < hi)) * (1 + 2 * own + (toks == exact))
            np.maximum(best, val.astype(np.int8), out=best)
        return np.maximum.reduceat(best, group) if total else np.zeros(len(cand), dtype=np.int8)

    def suggest(self, q: str, limit: int = DEFAULT_LIMIT, locality: str | None = None) -> list[Suggestion]:
        """Up to ``limit`` places for what has been typed so far, best first (optionally in one locality)."""
        limit = max(1, min(int(limit), MAX_LIMIT))
        words = self.query_words(q)
        if not words:
            return []
        found = self._suggest(words, limit, locality)
        if self.overlay is None or not len(self.overlay):
            return found
        from jinef.read.geocode.changed_places import changed_suggestions

        labels = {s.label for s in found}
        extra = [s for s in changed_suggestions(self.overlay, words, locality) if s.label not in labels]
        return sorted(found + extra, key=lambda s: -s.score)[:limit]

    def _suggest(self, words: list[list[str]], limit: int, locality: str | None) -> list[Suggestion]:
        ranges = [self._ranges(w) for w in words]
        if any(not r for r in ranges):
            return []
        sizes = [sum(int(self.post_off[hi] - self.post_off[lo]) for lo, hi, _ in r) for r in ranges]
        seed = int(np.argmin(sizes))
        parts = [slice(int(self.post_off[lo]), int(self.post_off[hi])) for lo, hi, _ in ranges[seed]]
        cand = np.concatenate([self.post_entry[s] for s in parts])
        if locality:
            rows = np.flatnonzero(self.locality_keys == match_key(locality))
            inside = np.isin(self.locality_row[cand], rows)
            cand, parts_mask = cand[inside], inside
        else:
            parts_mask = None
        # The seed word's own score per posting. For a one-word query it is the final score, so the
        # best few postings are exactly the best few names; otherwise it prunes a very common word.
        cap = max(64, 8 * limit) if len(ranges) == 1 else MAX_CANDIDATES
        if len(cand) > cap:
            own = np.concatenate([self.post_own[s] for s in parts])
            toks = np.concatenate([self.post_tok[s] for s in parts])
            if parts_mask is not None:
                own, toks = own[parts_mask], toks[parts_mask]
            exact = np.zeros(len(toks), dtype=bool)
            for _, _, ex in ranges[seed]:
                exact |= toks == ex
            rough = 10.0 * (1 + 2 * own + exact) + self.prior[cand]
            if seed == 0:
                rough += 3.0 * self._starts_with(cand, ranges[0])
            cand = cand[np.argpartition(-rough, cap)[:cap]]
        cand = np.unique(cand)
        if len(cand) == 0:
            return []
        score = np.zeros(len(cand))
        ok = np.ones(len(cand), dtype=bool)
        for r in ranges:
            qual = self._quality(cand, r)
            ok &= qual > 0
            score += 10.0 * qual
        score += 3.0 * self._starts_with(cand, ranges[0]) + self.prior[cand]
        cand, score = cand[ok], score[ok]
        top = min(len(cand), 4 * limit)  # room for the duplicate labels dropped below
        order = np.argpartition(-score, top - 1)[:top] if top < len(cand) else np.arange(len(cand))
        order = order[np.argsort(-score[order], kind="stable")]
        out: list[Suggestion] = []
        seen: set[str] = set()
        for i in order:
            e = int(cand[i])
            label = self.label(e)
            if label in seen:  # one street name often has several segments in a city
                continue
            seen.add(label)
            out.append(self._suggestion(e, label, float(score[i])))
            if len(out) >= limit:
                break
        return out

    def _starts_with(self, cand: np.ndarray, ranges: list[tuple[int, int, int]]) -> np.ndarray:
        """Does each candidate's name start with the (first) query word?"""
        first = self.first_tok[cand]
        hit = np.zeros(len(cand), dtype=bool)
        for lo, hi, _ in ranges:
            hit |= (first >= lo) & (first < hi)
        return hit

    def _suggestion(self, e: int, label: str, score: float) -> Suggestion:
        lr = int(self.locality_row[e])
        lat, lon = float(self.lat[e]), float(self.lon[e])
        return Suggestion(
            level=LEVELS[int(self.level[e])], name=to_persian_digits(self.name(e)), label=label,
            province=self.province[lr] if lr >= 0 else "", county=self.county[lr] if lr >= 0 else "",
            locality=self.locality_names[lr] if lr >= 0 else "",
            lat=None if math.isnan(lat) else round(lat, 7), lon=None if math.isnan(lon) else round(lon, 7),
            units=int(self.units[e]), score=score)
