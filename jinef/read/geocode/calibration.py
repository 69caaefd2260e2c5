"""Raw score margins to calibrated confidences, from a small table measured with the harness.

``data/calibration.json`` maps, per match level, score-margin bins to the share of answers in
that bin that were right (pooled to be monotone), as measured by ``bench/geocode_eval.py
--calibrate``. A conflict in the answer caps the confidence: the text disagreed with itself.
"""

from __future__ import annotations

import bisect
import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

CONFLICT_CAP = 0.6
# Used before a calibration table exists: a plain logistic on the margin.
_DEFAULT: dict[str, Any] = {"edges": [], "levels": {}}


@lru_cache(maxsize=1)
def table() -> dict[str, Any]:
    """The calibration table (edges of margin bins and the accuracy of each bin, per level)."""
    try:
        return json.loads(files("jinef.read.geocode").joinpath("data/calibration.json").read_text("utf-8"))
    except (FileNotFoundError, OSError, ValueError):
        return _DEFAULT


def confidence(level: str, margin: float, conflict: bool, n_matched: int) -> float:
    """Confidence of an answer from its score margin over the next candidate (negative below the top)."""
    if level == "none":
        return 0.0
    if margin < 0:
        return max(0.0, min(0.5, 0.3 + margin * 0.05))
    t = table()
    acc = t["levels"].get(level)
    if acc:
        value = float(acc[bisect.bisect_right(t["edges"], margin)])
    else:
        value = 1.0 / (1.0 + pow(2.718281828, -(margin - 1.5) * 2.0))
    if conflict:
        value = min(value, CONFLICT_CAP)
    return round(max(0.0, min(1.0, value)), 4)
