"""Autocomplete's part of the read image: a sorted vocabulary of word keys and two CSR tables over the places.

Entries are the localities, then the neighbourhoods, then the thoroughfares (rows in that order). Postings
(word → entries, in word order, so a prefix range is one slice) and each entry's words (entry → words, each
marked as the name's own word or a context word: its locality, county, province) are what
:class:`jinef.read.geocode.autocomplete.Autocompleter` searches. Words are computed per distinct name and per
locality, not per row: a national registry has millions of thoroughfares but a few thousand street names.
"""

from __future__ import annotations

import numpy as np

from jinef.image.folder import ImageWriter
from jinef.text.keys import fold_tokens, key_tokens
from jinef.write.compile.tables import Tables

LOCALITY, NEIGHBOURHOOD, THOROUGHFARE = 0, 1, 2
_LEVEL_PRIOR = np.array([1.0, 0.3, 0.0])  # a city named like a street is the likelier meaning
_CITY = "شهر"


def _words(text: str) -> list[str]:
    """The index words of a name: its keys and, where different, its plain folds."""
    return list(dict.fromkeys([*key_tokens(text), *fold_tokens(text)]))


def _first(text: str) -> str:
    return next(iter(key_tokens(text)), "")


def _aggregate(n: int, refs: list[np.ndarray], weight: np.ndarray, lat: np.ndarray, lon: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Units, mean lat and mean lon per place over the buildings that reference it (through any of ``refs``)."""
    units, slat, slon, cnt = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    has_point = np.isfinite(lat) & np.isfinite(lon)
    for row in refs:
        ok = row >= 0
        units += np.bincount(row[ok], weights=weight[ok], minlength=n)
        pt = ok & has_point
        slat += np.bincount(row[pt], weights=lat[pt], minlength=n)
        slon += np.bincount(row[pt], weights=lon[pt], minlength=n)
        cnt += np.bincount(row[pt], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return units, np.where(cnt > 0, slat / cnt, np.nan), np.where(cnt > 0, slon / cnt, np.nan)


def compile_autocomplete(t: Tables, out: ImageWriter) -> None:
    """Write autocomplete's vocabulary, postings and per-entry ranking facts."""
    b = t.buildings
    n_loc, n_nb, n_th = len(t.loc_name), len(t.nb_name), len(t.th_locality)
    b_units = np.diff(t.b_units_offsets).astype(np.float64)
    loc_units, loc_blat, loc_blon = _aggregate(n_loc, [b["locality"]], b_units, b["lat"], b["lon"])
    nb_units, nb_lat, nb_lon = _aggregate(n_nb, [b["neighbourhood"]], b_units, b["lat"], b["lon"])
    th_units, th_lat, th_lon = _aggregate(n_th, [b["prev"], b["last"]], b_units, b["lat"], b["lon"])
    loc_lat = np.where(np.isfinite(t.loc_lat), t.loc_lat, loc_blat)
    loc_lon = np.where(np.isfinite(t.loc_lon), t.loc_lon, loc_blon)

    vocab: dict[str, int] = {}

    def ids(words: list[str]) -> np.ndarray:
        return np.array([vocab.setdefault(w, len(vocab)) for w in words], dtype=np.int64)

    # Words of each locality as a place (own: its name; context: type, county, province) and as context.
    county = [t.county_names[c] if c >= 0 else "" for c in t.loc_county]
    province = [t.province_names[p] if p >= 0 else "" for p in t.loc_province]
    own_parts, ctx_parts, ent_parts, first = [], [], [], []
    loc_ctx: list[np.ndarray] = []
    for i in range(n_loc):
        name = t.loc_name[i]
        own = ids(_words(name))
        ctx = ids([*_words(t.loc_type[i]), *_words(county[i]), *_words(province[i])])
        loc_ctx.append(ids(_words(name)))
        own_parts += [own, ctx]
        ctx_parts += [np.ones(len(own), bool), np.zeros(len(ctx), bool)]
        ent_parts.append(np.full(len(own) + len(ctx), i, np.int64))
        first.append(_first(name))
    hood_word = ids(_words("محله"))
    for i, name in enumerate(t.nb_name):
        lr = int(t.nb_locality[i])
        own = ids(_words(name))
        ctx = np.concatenate([loc_ctx[lr] if lr >= 0 else np.zeros(0, np.int64), hood_word])
        own_parts += [own, ctx]
        ctx_parts += [np.ones(len(own), bool), np.zeros(len(ctx), bool)]
        ent_parts.append(np.full(len(own) + len(ctx), n_loc + i, np.int64))
        first.append(_first(name))
    # Thoroughfares: own words per distinct (type, name), context per locality, stitched with numpy.
    full_words: dict[tuple[int, int], np.ndarray] = {}
    th_first: dict[tuple[int, int], str] = {}
    pairs = np.unique(np.column_stack((t.th_type, t.th_name)), axis=0) if n_th else np.zeros((0, 2), np.int32)
    for ty, nm in pairs.tolist():
        kind = t.th_types[ty] if ty >= 0 else ""
        name = t.th_names[nm] if nm >= 0 else ""
        full = f"{kind} {name}".strip() if name else kind
        full_words[(ty, nm)] = ids(_words(full))
        th_first[(ty, nm)] = _first(name or kind)
    vocab_list = sorted(vocab)
    rank = np.empty(len(vocab_list), dtype=np.int64)
    rank[[vocab[w] for w in vocab_list]] = np.arange(len(vocab_list))  # first-seen id → sorted id

    # Per thoroughfare: own words of its (type, name), then its locality's context words.
    pair_index = {p: i for i, p in enumerate(full_words)}
    pair_words = list(full_words.values())
    pair_of = np.array([pair_index[(a, c)] for a, c in zip(t.th_type.tolist(), t.th_name.tolist(), strict=True)],
                       dtype=np.int64) if n_th else np.zeros(0, np.int64)
    own_tok, own_ent = _expand(pair_words, pair_of)
    ctx_lists = [*loc_ctx, np.zeros(0, np.int64)]
    ctx_tok, ctx_ent = _expand(ctx_lists, np.where(t.th_locality >= 0, t.th_locality, n_loc).astype(np.int64))
    ent = np.concatenate([*ent_parts, own_ent + n_loc + n_nb, ctx_ent + n_loc + n_nb]) if ent_parts or n_th else \
        np.zeros(0, np.int64)
    tok = np.concatenate([*own_parts, own_tok, ctx_tok]) if own_parts or n_th else np.zeros(0, np.int64)
    is_own = np.concatenate([*ctx_parts, np.ones(len(own_tok), bool), np.zeros(len(ctx_tok), bool)]) \
        if ctx_parts or n_th else np.zeros(0, bool)
    tok = rank[tok] if len(tok) else tok
    # One (entry, word) pair each, marked own when the name itself has the word.
    order = np.lexsort((~is_own, tok, ent))
    ent, tok, is_own = ent[order], tok[order], is_own[order]
    keep = np.r_[True, (ent[1:] != ent[:-1]) | (tok[1:] != tok[:-1])] if len(ent) else np.zeros(0, bool)
    ent, tok, is_own = ent[keep], tok[keep], is_own[keep]
    n_ent = n_loc + n_nb + n_th
    ent_off = np.searchsorted(ent, np.arange(n_ent + 1)).astype(np.int64)
    porder = np.lexsort((ent, tok))
    post_tok = tok[porder]
    post_off = np.searchsorted(post_tok, np.arange(len(vocab_list) + 1)).astype(np.int64)
    sorted_id = {w: i for i, w in enumerate(vocab_list)}
    th_first_ids = {p: sorted_id.get(f, -1) for p, f in th_first.items()}
    first_tok = np.concatenate([
        np.array([sorted_id.get(f, -1) for f in first], dtype=np.int32),
        np.array([th_first_ids[(a, c)] for a, c in zip(t.th_type.tolist(), t.th_name.tolist(), strict=True)],
                 dtype=np.int32)])
    level = np.concatenate([np.full(n_loc, LOCALITY), np.full(n_nb, NEIGHBOURHOOD),
                            np.full(n_th, THOROUGHFARE)]).astype(np.int8)
    lrow = np.concatenate([np.arange(n_loc), t.nb_locality, t.th_locality]).astype(np.int32)
    units = np.concatenate([loc_units, nb_units, th_units])
    lat = np.concatenate([loc_lat, nb_lat, th_lat])
    lon = np.concatenate([loc_lon, nb_lon, th_lon])
    fallback = ~np.isfinite(lat) & (lrow >= 0)  # a place with no geocoded building is shown at its locality
    lat[fallback], lon[fallback] = loc_lat[lrow[fallback]], loc_lon[lrow[fallback]]
    prior = np.log10(1.0 + units) + _LEVEL_PRIOR[level]
    prior[:n_loc] += np.where(np.array([ty == _CITY for ty in t.loc_type], dtype=bool), 0.5, 0.0)
    out.strings("autocomplete/vocab", vocab_list)
    for name, arr in (("post_off", post_off), ("post_entry", ent[porder].astype(np.int32)),
                      ("post_tok", post_tok.astype(np.int32)),
                      ("post_own", is_own[porder]), ("ent_off", ent_off), ("ent_tok", tok.astype(np.int32)),
                      ("ent_own", is_own), ("first_tok", first_tok), ("level", level), ("locality", lrow),
                      ("prior", prior), ("units", units.astype(np.int64)), ("lat", lat), ("lon", lon)):
        out.array(f"autocomplete/{name}", arr)


def _expand(lists: list[np.ndarray], which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, owner) with ``lists[which[i]]`` laid out for each i in order."""
    if not len(which):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lens = np.array([len(x) for x in lists], dtype=np.int64)
    flat = np.concatenate(lists) if lists else np.zeros(0, np.int64)
    starts = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    n = lens[which]
    owner = np.repeat(np.arange(len(which), dtype=np.int64), n)
    pos = np.repeat(starts[which], n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    return flat[pos], owner
