"""The postcode rules of :mod:`jinef.model.postcode` over a whole column at once.

Files from systems hold canonical codes: those are checked by one regular expression and one
comparison in C++ for the whole column. Anything else (other digit forms, separators, invalid
codes) goes through :func:`jinef.model.postcode.validate` itself, so every outcome is the one the
single-code function gives.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jinef.model.postcode import ROUTE_DIGITS, Validation, validate

_CANONICAL = f"^[{ROUTE_DIGITS}]{{5}}[0-9]{{5}}$"
_REPEATED = pa.array([d * 10 for d in ROUTE_DIGITS])  # the only canonical-looking codes that break a rule


def validate_column(texts: pa.Array) -> tuple[np.ndarray, dict[int, Validation]]:
    """Integer codes of a column of postcode texts (-1 where invalid) and the :class:`Validation` of every
    row that is not already a valid canonical code (its failures, or its canonical form)."""
    quick = pc.and_(pc.match_substring_regex(texts, _CANONICAL), pc.invert(pc.is_in(texts, value_set=_REPEATED)))
    quick = quick.fill_null(False)
    codes = np.full(len(texts), -1, dtype=np.int64)
    ok = quick.to_numpy(zero_copy_only=False)
    if ok.any():
        codes[ok] = pc.cast(texts.filter(quick), pa.int64()).to_numpy()
    others: dict[int, Validation] = {}
    rest = np.flatnonzero(~ok)
    for i, text in zip(rest.tolist(), texts.take(pa.array(rest)).to_pylist(), strict=True):
        v = validate(text or "")
        others[i] = v
        if v.postcode is not None:
            codes[i] = int(v.postcode)
    return codes, others
