"""The geocoder's part of the read image: match-key postings, and what each thoroughfare stands for.

Names are searched by match key (:func:`jinef.text.keys.match_key`). For each kind of place the image holds
the sorted distinct keys and, per key, the rows that carry it (CSR postings). Thoroughfare postings are
sorted by locality within a key, so "the streets called X in locality L" is a binary search inside the
key's run, however many localities have an X. A registry has few distinct names (a few thousand street
names over millions of thoroughfares), so keys are computed per distinct name, not per row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from jinef.image.folder import ImageWriter
from jinef.text.keys import match_key
from jinef.text.lexicon import DROPPABLE_TITLES
from jinef.write.compile.tables import Tables

_TITLE_KEYS = tuple(match_key(t) for t in DROPPABLE_TITLES)
_BRACKETS = re.compile(r"[()]")
# A dash between two names joins two areas in one («الهیه – فرشته»): people write either, and a typed dash
# separates parts of an address, so each side is a key of the place too.
_JOINED = re.compile(r"\s[-–—‒−]\s|[–—‒−]")


def name_keys(name: str) -> list[str]:
    """A thoroughfare name's keys: its own, and without a leading title («شهیدنیکنام» → also «نیکنام»)."""
    k = match_key(name)
    if not k:
        return []
    out = [k]
    for t in _TITLE_KEYS:
        if k.startswith(t) and len(k) > len(t) + 2:
            out.append(k[len(t):])
    return out


def postings(key_ids: np.ndarray, rows: np.ndarray, n_keys: int, *within: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, rows) of a CSR table: the rows of key k are ``rows[offsets[k]:offsets[k + 1]]``, sorted by the
    ``within`` columns (most significant first), then by row."""
    order = np.lexsort((rows, *reversed(within), key_ids))
    offsets = np.searchsorted(key_ids[order], np.arange(n_keys + 1)).astype(np.int64)
    return offsets, rows[order].astype(np.int32)


def place_keys(name: str) -> list[str]:
    """A place name's keys: the whole name's, and each of its parts for names given with another in brackets
    («خداجو(خراجو)» is also «خداجو» and «خراجو», as the divisions list writes some) or joined by a dash
    («الهیه – فرشته» is also «الهیه» and «فرشته»)."""
    keys = [match_key(name)]
    if "(" in name:
        keys += [match_key(part) for part in _BRACKETS.split(name)]
    if _JOINED.search(name):
        keys += [match_key(part) for part in _JOINED.split(name)]
    return list(dict.fromkeys(k for k in keys if k))


def _write_names(out: ImageWriter, prefix: str, names: Sequence[str], locality: np.ndarray | None = None) -> None:
    """Postings of named places (localities, neighbourhoods): key → rows, by locality."""
    per_row = [place_keys(n) for n in names]
    distinct = sorted({k for ks in per_row for k in ks})
    kid = {k: i for i, k in enumerate(distinct)}
    rows = np.array([i for i, ks in enumerate(per_row) for _ in ks], dtype=np.int64)
    ids = np.array([kid[k] for ks in per_row for k in ks], dtype=np.int64)
    within = () if locality is None else (np.asarray(locality)[rows],)
    offsets, post = postings(ids, rows, len(distinct), *within)
    out.strings(f"geocode/{prefix}.keys", distinct)
    out.array(f"geocode/{prefix}.offsets", offsets)
    out.array(f"geocode/{prefix}.rows", post)


def compile_geocoder(t: Tables, out: ImageWriter) -> None:
    """Write the geocoder's postings and per-thoroughfare facts."""
    _write_names(out, "localities", t.loc_name)
    _write_names(out, "neighbourhoods", t.nb_name, t.nb_locality)

    # Thoroughfares: keys per distinct name, then every thoroughfare under each key of its name.
    per_name = [name_keys(n) for n in t.th_names]
    distinct = sorted({k for ks in per_name for k in ks})
    kid = {k: i for i, k in enumerate(distinct)}
    name_code = np.repeat(np.arange(len(per_name), dtype=np.int64), [len(ks) for ks in per_name])
    name_key = np.array([kid[k] for ks in per_name for k in ks], dtype=np.int64)
    named = np.flatnonzero(t.th_name >= 0)
    codes = t.th_name[named].astype(np.int64)
    counts = np.bincount(name_code, minlength=len(per_name))
    starts = np.zeros(len(per_name) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    n = counts[codes]
    th_rows = np.repeat(named, n)
    first = np.repeat(starts[codes], n)
    pos = first + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    key_ids = name_key[pos]
    offsets, post = postings(key_ids, th_rows, len(distinct), t.th_locality[th_rows])
    out.strings("geocode/thoroughfares.keys", distinct)
    out.array("geocode/thoroughfares.offsets", offsets)
    out.array("geocode/thoroughfares.rows", post)

    # A thoroughfare's buildings are one run of the building order; its middle building stands for it.
    b = t.buildings
    n_th = len(t.th_locality)
    th_b_off = np.searchsorted(b["last"], np.arange(n_th + 1)).astype(np.int64)
    has = th_b_off[1:] > th_b_off[:-1]
    mid = np.minimum((th_b_off[:-1] + th_b_off[1:]) // 2, max(t.n_buildings - 1, 0))
    if t.n_buildings:
        th_prev = np.where(has, b["prev"][mid], -1).astype(np.int32)
        th_nb = np.where(has, b["neighbourhood"][mid], -1).astype(np.int32)
        th_lat = np.where(has, b["lat"][mid], np.nan)
        th_lon = np.where(has, b["lon"][mid], np.nan)
        th_nb, th_lat, th_lon = _bare_streets_from_alleys(b, has, th_nb, th_lat, th_lon)
    else:
        th_prev = th_nb = np.full(n_th, -1, np.int32)
        th_lat = th_lon = np.full(n_th, np.nan)
    # Whether every building of a thoroughfare has the same prev thoroughfare and neighbourhood as the middle one:
    # then a thoroughfare's area and street scores are every one of its buildings' (the search bounds by them).
    uniform = np.ones(n_th, dtype=bool)
    runs = np.flatnonzero(has)
    if len(runs):
        starts = th_b_off[runs]
        for col in ("prev", "neighbourhood"):
            v = b[col].astype(np.int64)
            same = (np.minimum.reduceat(v, starts) == np.maximum.reduceat(v, starts)) if len(v) else np.ones(0, bool)
            uniform[runs] &= same
    out.array("geocode/thoroughfares.uniform", uniform)
    out.array("geocode/thoroughfares.buildings", th_b_off)
    out.array("geocode/thoroughfares.prev", th_prev)
    out.array("geocode/thoroughfares.neighbourhood", th_nb)
    out.array("geocode/thoroughfares.lat", th_lat)
    out.array("geocode/thoroughfares.lon", th_lon)
    out.array("geocode/buildings.key", t.b_key)


def _bare_streets_from_alleys(b: dict[str, np.ndarray], has: np.ndarray, th_nb: np.ndarray, th_lat: np.ndarray,
                              th_lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Place a thoroughfare with no buildings of its own where the buildings of the alleys off it stand.

    A main street whose units all stand on its alleys (one in twenty streets of a generated registry) would
    otherwise be answered with no point and no neighbourhood. It takes the mean point of the buildings whose
    prev thoroughfare it is, and the neighbourhood of the first of them.
    """
    bare = ~has
    if not bare.any():
        return th_nb, th_lat, th_lon
    prev = b["prev"].astype(np.int64)
    child = np.flatnonzero((prev >= 0) & np.isfinite(b["lat"]) & np.isfinite(b["lon"]))
    p = prev[child]
    n_th = len(has)
    count = np.bincount(p, minlength=n_th)
    take = bare & (count > 0)
    lat = np.bincount(p, weights=b["lat"][child], minlength=n_th) / np.maximum(count, 1)
    lon = np.bincount(p, weights=b["lon"][child], minlength=n_th) / np.maximum(count, 1)
    first = np.full(n_th, -1, np.int64)
    first[p[::-1]] = child[::-1]  # with repeated indexes the last write wins: reversed, the first child
    nb = b["neighbourhood"][np.maximum(first, 0)]
    return (np.where(take, nb, th_nb).astype(np.int32), np.where(take, lat, th_lat),
            np.where(take, lon, th_lon))
