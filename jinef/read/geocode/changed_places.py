"""Autocomplete's suggestions from units changed since the read image: a street or neighbourhood that a new
building brought is suggested before the next image has it.

Changed units are few, so their places are matched word by word here, scored on the autocompleter's scale
(per query word: 4 own exact, 3 own prefix, 2 context exact, 1 context prefix; ×10), and merged by score.
"""

from __future__ import annotations

from jinef.model.address import Address
from jinef.model.digits import to_persian_digits
from jinef.read.geocode.autocomplete import Suggestion
from jinef.read.registry.overlay import Overlay
from jinef.text.keys import fold_tokens, key_tokens, match_key


def _tokens(text: str) -> set[str]:
    return set(key_tokens(text)) | set(fold_tokens(text))


def _quality(alternatives: list[str], own: set[str], context: set[str]) -> int:
    best = 0
    for w in alternatives:
        for tokens, base in ((own, 3), (context, 1)):
            for t in tokens:
                if t.startswith(w):
                    best = max(best, base + (t == w))
    return best


def changed_suggestions(overlay: Overlay, words: list[list[str]], locality: str | None) -> list[Suggestion]:
    """Streets and neighbourhoods of changed active units that match every query word."""
    places: dict[str, tuple[str, str, Address]] = {}
    for a in overlay.changed():
        if a.status != "active" or (locality and match_key(locality) != match_key(a.locality)):
            continue
        prefix = to_persian_digits(f"استان {a.province}، شهرستان {a.county}، {a.locality_type} {a.locality}")
        for level, name in (("thoroughfare", a.last_thoroughfare), ("thoroughfare", a.prev_thoroughfare),
                            ("neighbourhood", a.neighbourhood)):
            if name:
                label = f"{prefix}، {'محله ' if level == 'neighbourhood' else ''}{to_persian_digits(name)}"
                places.setdefault(label, (level, name, a))
    out = []
    for label, (level, name, a) in places.items():
        own, context = _tokens(name), _tokens(f"{a.locality} {a.county} {a.province}")
        quality = [_quality(w, own, context) for w in words]
        if not all(quality):
            continue
        score = 10.0 * sum(quality) + 3.0 * any(t.startswith(w) for w in words[0] for t in key_tokens(name)[:1])
        out.append(Suggestion(level=level, name=to_persian_digits(name), label=label,
                              province=a.province, county=a.county,
                              locality=f"{a.locality_type} {a.locality}",
                              lat=a.lat, lon=a.lon, units=1, score=score))
    return out
