"""Split a whole number over weights, exactly and deterministically (largest remainder)."""

from __future__ import annotations

from collections.abc import Sequence


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Integers proportional to ``weights`` that sum to ``total``; ties go to the earlier item."""
    if total < 0:
        raise ValueError("total must not be negative")
    if not weights:
        return []
    s = float(sum(weights))
    if s <= 0:
        weights = [1.0] * len(weights)
        s = float(len(weights))
    quotas = [total * w / s for w in weights]
    out = [int(q) for q in quotas]
    rest = total - sum(out)
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - out[i]), i))
    for i in order[:rest]:
        out[i] += 1
    return out
