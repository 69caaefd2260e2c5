"""A fingerprint of the Persian text rules, for what was computed with them and stored.

The read image holds match keys of every name (:func:`jinef.text.keys.match_key`), computed when it was
compiled; a query's keys are computed now. If the rules changed in between (a new fold, a word list edited),
the two would silently stop meeting. The compiler stores this fingerprint in the image and the read side
refuses an image compiled under other rules, so the service recompiles it instead of answering wrong.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

_HERE = Path(__file__).resolve().parent


@cache
def text_rules_fingerprint() -> str:
    """A short hash of every module and word list of :mod:`jinef.text`."""
    h = hashlib.sha256()
    for path in sorted(_HERE.rglob("*.py")):
        h.update(path.relative_to(_HERE).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]
