"""The geocoder's plain types: what a query says (:class:`Query`), one ranked answer (:class:`Candidate`) and
the answer to one query (:class:`GeocodeResult`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jinef.model.postcode import from_int
from jinef.text.parser import ParsedAddress

if TYPE_CHECKING:
    from jinef.read.geocode.index import GeocodeIndex

LEVELS = ("unit", "building", "thoroughfare", "neighbourhood", "locality", "none")


@dataclass(slots=True)
class Query:
    """What an address says, level by level (from the parser or from structured fields)."""

    province: str | None = None
    county: str | None = None
    locality: str | None = None
    locality_type: str | None = None
    neighbourhood: str | None = None
    places: list[str] = field(default_factory=list)
    thoroughfares: list[tuple[str, str]] = field(default_factory=list)  # (type word, name), large to small
    plate: str | None = None
    entrance: str | None = None
    building: str | None = None
    floor: int | None = None
    unit: str | None = None
    postcode: str | None = None
    corrections: list[dict[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    @classmethod
    def from_parsed(cls, p: ParsedAddress) -> Query:
        """The query a parse describes."""
        return cls(
            province=p.province, county=p.county, locality=p.locality, locality_type=p.locality_type,
            neighbourhood=p.neighbourhood,
            places=list(p.places), thoroughfares=[(t.type_word, t.name) for t in p.thoroughfares],
            plate=p.plate, entrance=p.entrance, building=p.building, floor=p.floor, unit=p.unit,
            postcode=p.postcode, corrections=[c.to_dict() for c in p.corrections],
            ignored=list(p.ignored) + list(p.landmarks),
        )


def finite(x: float | None) -> float | None:
    """JSON has no NaN or infinity: such a value (a building with no geocode, say) is written as null."""
    return x if x is not None and math.isfinite(x) else None


@dataclass(slots=True)
class Candidate:
    """One ranked answer."""

    level: str
    postcode: str | None
    confidence: float
    lat: float | None
    lon: float | None
    text: str  # the standard address when known up front (areas); else made from ref_* on first use
    score: float
    # level → what matched: text, or (input, registry name) or (input, thoroughfare row) until read as
    # ``matched``: formatting is left until then because most candidates are never shown.
    evidence: dict[str, Any] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    building_id: int | None = None
    margin: float = 0.0  # raw score over the next distinct candidate (negative below the top)
    # Index positions the address text is made from, only for the candidates returned.
    ref_b: int = field(default=-1, repr=False)
    ref_u: int = field(default=-1, repr=False)
    ref_t: int = field(default=-1, repr=False)
    index: GeocodeIndex | None = field(default=None, repr=False, compare=False)  # set for returned ones
    pcs: list[str] | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """The registry's standard address of the answer, made on first use (most are never shown)."""
        ix = self.index
        if ix is not None and not self.text:
            if self.ref_b >= 0:
                self.text = ix.standard_address(self.ref_b, self.ref_u)
            elif self.ref_t >= 0:
                self.text = ix.thoroughfare_address(self.ref_t)
        return self.text

    @property
    def matched(self) -> dict[str, str]:
        """Level → «input → registry» (or the registry's name) for each part that agreed."""
        ev = self.evidence
        for k, v in ev.items():
            if type(v) is tuple:
                ref = v[1]
                if type(ref) is int:
                    ref = self.index.th_text(ref) if self.index is not None else str(ref)
                ev[k] = f"{v[0]} → {ref}"
        return ev

    @property
    def unit_postcodes(self) -> list[str]:
        """Building level: the postcodes of the building's active units (made on first use)."""
        if self.pcs is None:
            ix = self.index
            if self.level != "building" or ix is None or self.ref_b < 0:
                return []
            self.pcs = [from_int(p) for p in ix.u_postcode[ix.units_of(self.ref_b)].tolist()]
        return self.pcs

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "level": self.level, "postcode": self.postcode, "confidence": round(finite(self.confidence) or 0.0, 4),
            "lat": finite(self.lat), "lon": finite(self.lon), "address": self.address,
            "score": round(finite(self.score) or 0.0, 3),
            "unit_postcodes": self.unit_postcodes, "matched": self.matched, "conflicts": self.conflicts,
        }


@dataclass(slots=True)
class GeocodeResult:
    """Ranked candidates for one query and why."""

    query: str
    candidates: list[Candidate]
    corrections: list[dict[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def best(self) -> Candidate | None:
        """The top candidate, if any."""
        return self.candidates[0] if self.candidates else None

    @property
    def level(self) -> str:
        """The top candidate's match level (``none`` without one)."""
        return self.candidates[0].level if self.candidates else "none"

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "query": self.query, "level": self.level, "reason": self.reason,
            "candidates": [c.to_dict() for c in self.candidates],
            "corrections": self.corrections, "ignored": self.ignored,
        }
