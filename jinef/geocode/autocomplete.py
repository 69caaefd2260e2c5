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
from dataclasses import dataclass

import numpy as np

from jinef.registry.registry import Registry
from jinef.text.digits import to_persian_digits
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
_LEVEL_PRIOR = np.array([1.0, 0.3, 0.0])  # a city named like a street is the likelier meaning
_CITY = "شهر"


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


def _rows(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Row of each key in the sorted id column ``ids`` (-1 where absent)."""
    if len(ids) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(ids, keys), 0, len(ids) - 1)
    return np.where(ids[pos] == keys, pos, -1)


def _words(text: str) -> dict[str, bool]:
    """The index words of a name: its keys and, where different, its plain folds."""
    return dict.fromkeys([*key_tokens(text), *fold_tokens(text)], True)


class Autocompleter:
    """Prefix search over the registry's place names; built once, then queried in about a millisecond."""

    def __init__(self, vocab: np.ndarray, post_off: np.ndarray, post_entry: np.ndarray, post_tok: np.ndarray,
                 post_own: np.ndarray,
                 ent_off: np.ndarray, ent_tok: np.ndarray, ent_own: np.ndarray, first_tok: np.ndarray,
                 level: np.ndarray, locality_row: np.ndarray, prior: np.ndarray, units: np.ndarray,
                 lat: np.ndarray, lon: np.ndarray, names: list[str], labels: list[str],
                 locality_names: list[str], locality_keys: np.ndarray, county: list[str],
                 province: list[str]) -> None:
        self.vocab = vocab
        self.post_off, self.post_entry, self.post_tok, self.post_own = post_off, post_entry, post_tok, post_own
        self.ent_off, self.ent_tok, self.ent_own = ent_off, ent_tok, ent_own
        self.first_tok = first_tok
        self.level, self.locality_row, self.prior, self.units = level, locality_row, prior, units
        self.lat, self.lon = lat, lon
        self.names, self.labels = names, labels
        self.locality_names, self.locality_keys = locality_names, locality_keys
        self.county, self.province = county, province

    def __len__(self) -> int:
        return len(self.level)

    @classmethod
    def from_registry(cls, registry: Registry) -> Autocompleter:
        """Read the registry's names and counts once and build the index."""
        r = registry.reader
        prov = r.columns("provinces", ["code", "name"])
        cty = r.columns("counties", ["code", "name"])
        loc = r.columns("localities", ["id", "type", "name", "province_code", "county_code", "lat", "lon"])
        nbh = r.columns("neighbourhoods", ["id", "locality_id", "name"])
        tho = r.columns("thoroughfares", ["id", "locality_id", "type", "name"])
        bld = r.columns("buildings", ["id", "locality_id", "neighbourhood_id", "prev_thoroughfare_id",
                                      "last_thoroughfare_id", "lat", "lon"])
        unit_building = r.columns("units", ["building_id"])["building_id"]

        # Units per building, then per place: the popularity of a name.
        b_units = np.bincount(np.maximum(_rows(bld["id"], unit_building), 0),
                              minlength=len(bld["id"])).astype(np.float64)
        has_point = np.isfinite(bld["lat"]) & np.isfinite(bld["lon"])
        b_lat, b_lon = np.where(has_point, bld["lat"], 0.0), np.where(has_point, bld["lon"], 0.0)

        def aggregate(ids: np.ndarray, keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """Units, mean lat and mean lon per place over the buildings that reference it."""
            n = len(ids)
            units, slat, slon, cnt = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
            for k in keys:
                row = _rows(ids, k)
                ok = row >= 0
                units += np.bincount(row[ok], weights=b_units[ok], minlength=n)
                pt = ok & has_point
                slat += np.bincount(row[pt], weights=b_lat[pt], minlength=n)
                slon += np.bincount(row[pt], weights=b_lon[pt], minlength=n)
                cnt += np.bincount(row[pt], minlength=n)
            with np.errstate(invalid="ignore", divide="ignore"):
                return units, np.where(cnt > 0, slat / cnt, np.nan), np.where(cnt > 0, slon / cnt, np.nan)

        loc_units, loc_blat, loc_blon = aggregate(loc["id"], [bld["locality_id"]])
        nbh_units, nbh_lat, nbh_lon = aggregate(nbh["id"], [bld["neighbourhood_id"]])
        tho_units, tho_lat, tho_lon = aggregate(tho["id"], [bld["prev_thoroughfare_id"], bld["last_thoroughfare_id"]])
        loc_lat = np.where(np.isfinite(loc["lat"]), loc["lat"], loc_blat)
        loc_lon = np.where(np.isfinite(loc["lon"]), loc["lon"], loc_blon)

        prov_name = dict(zip(prov["code"], prov["name"], strict=True))
        cty_name = dict(zip(cty["code"], cty["name"], strict=True))
        n_loc = len(loc["id"])
        loc_county = [cty_name.get(c, "") for c in loc["county_code"]]
        loc_province = [prov_name.get(p, "") for p in loc["province_code"]]
        loc_full = [f"{t} {n}".strip() for t, n in zip(loc["type"], loc["name"], strict=True)]
        loc_prefix = [to_persian_digits(f"استان {p}، شهرستان {c}، {f}")
                      for p, c, f in zip(loc_province, loc_county, loc_full, strict=True)]

        level: list[int] = []
        locality_row: list[int] = []
        names: list[str] = []
        labels: list[str] = []
        words: list[dict[str, bool]] = []  # word → is it the name's own word (else context)
        first_words: list[str] = []
        ctx_cache: dict[int, dict[str, bool]] = {}

        def context(row: int) -> dict[str, bool]:
            """A street's or neighbourhood's context words: its locality's name."""
            got = ctx_cache.get(row)
            if got is None:
                got = ctx_cache[row] = dict.fromkeys(_words(str(loc["name"][row])), False)
            return got

        for i in range(n_loc):
            name = str(loc["name"][i])
            w = dict.fromkeys([*_words(str(loc["type"][i])), *_words(loc_county[i]), *_words(loc_province[i])], False)
            w.update(_words(name))
            level.append(LOCALITY)
            locality_row.append(i)
            names.append(name)
            labels.append(loc_prefix[i])
            words.append(w)
            first_words.append(next(iter(key_tokens(name)), ""))
        nbh_loc = _rows(loc["id"], nbh["locality_id"])
        for i, name in enumerate(nbh["name"]):
            lr = int(nbh_loc[i])
            w = {**(context(lr) if lr >= 0 else {}), **dict.fromkeys(_words("محله"), False), **_words(name)}
            level.append(NEIGHBOURHOOD)
            locality_row.append(lr)
            names.append(str(name))
            labels.append(f"{loc_prefix[lr]}، محله {to_persian_digits(str(name))}" if lr >= 0 else str(name))
            words.append(w)
            first_words.append(next(iter(key_tokens(str(name))), ""))
        tho_loc = _rows(loc["id"], tho["locality_id"])
        for i, (kind, name) in enumerate(zip(tho["type"], tho["name"], strict=True)):
            lr = int(tho_loc[i])
            full = f"{kind} {name}".strip() if name else str(kind)
            w = {**(context(lr) if lr >= 0 else {}), **_words(full)}
            level.append(THOROUGHFARE)
            locality_row.append(lr)
            names.append(full)
            labels.append(f"{loc_prefix[lr]}، {to_persian_digits(full)}" if lr >= 0 else full)
            words.append(w)
            first_words.append(next(iter(key_tokens(str(name or kind))), ""))

        vocab_list = sorted({t for w in words for t in w} | set(first_words) - {""})
        tok_id = {t: i for i, t in enumerate(vocab_list)}
        lens = np.fromiter((len(w) for w in words), dtype=np.int64, count=len(words))
        ent_off = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(lens, out=ent_off[1:])
        ent_tok = np.fromiter((tok_id[t] for w in words for t in w), dtype=np.int32, count=int(ent_off[-1]))
        ent_own = np.fromiter((o for w in words for o in w.values()), dtype=bool, count=int(ent_off[-1]))
        owner = np.repeat(np.arange(len(words), dtype=np.int32), lens)
        order = np.lexsort((owner, ent_tok))
        post_tok = ent_tok[order]
        post_off = np.searchsorted(post_tok, np.arange(len(vocab_list) + 1)).astype(np.int64)
        first_tok = np.array([tok_id.get(t, -1) for t in first_words], dtype=np.int32)

        lvl = np.array(level, dtype=np.int8)
        units = np.concatenate([loc_units, nbh_units, tho_units])
        lat = np.concatenate([loc_lat, nbh_lat, tho_lat])
        lon = np.concatenate([loc_lon, nbh_lon, tho_lon])
        lrow = np.array(locality_row, dtype=np.int64)
        # A street with no geocoded building is shown at its locality.
        fallback = ~np.isfinite(lat) & (lrow >= 0)
        lat[fallback], lon[fallback] = loc_lat[lrow[fallback]], loc_lon[lrow[fallback]]
        is_city = np.array([t == _CITY for t in loc["type"]], dtype=bool)
        prior = np.log10(1.0 + units) + _LEVEL_PRIOR[lvl]
        prior[:n_loc] += np.where(is_city, 0.5, 0.0)
        return cls(
            vocab=np.array(vocab_list, dtype=str), post_off=post_off, post_entry=owner[order],
            post_tok=post_tok, post_own=ent_own[order], ent_off=ent_off, ent_tok=ent_tok, ent_own=ent_own,
            first_tok=first_tok,
            level=lvl, locality_row=lrow, prior=prior, units=units.astype(np.int64), lat=lat, lon=lon,
            names=names, labels=labels, locality_names=loc_full,
            locality_keys=np.array([match_key(str(n)) for n in loc["name"]], dtype=object),
            county=loc_county, province=loc_province)

    # -- querying -------------------------------------------------------------------------------

    def _ranges(self, alternatives: list[str]) -> list[tuple[int, int, int]]:
        """(first, end, exact) word ids for each spelling of a query word; exact is -1 when no word equals it."""
        out = []
        for w in alternatives:
            lo = int(np.searchsorted(self.vocab, w, "left"))
            hi = int(np.searchsorted(self.vocab, w + _TOP, "left"))
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
            if self.labels[e] in seen:  # one street name often has several segments in a city
                continue
            seen.add(self.labels[e])
            out.append(self._suggestion(e, float(score[i])))
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

    def _suggestion(self, e: int, score: float) -> Suggestion:
        lr = int(self.locality_row[e])
        lat, lon = float(self.lat[e]), float(self.lon[e])
        return Suggestion(
            level=LEVELS[int(self.level[e])], name=to_persian_digits(self.names[e]), label=self.labels[e],
            province=self.province[lr] if lr >= 0 else "", county=self.county[lr] if lr >= 0 else "",
            locality=self.locality_names[lr] if lr >= 0 else "",
            lat=None if math.isnan(lat) else round(lat, 7), lon=None if math.isnan(lon) else round(lon, 7),
            units=int(self.units[e]), score=score)
