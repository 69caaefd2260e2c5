"""Postcode → location: the unit's point, how it was geocoded, and its Plus Code."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from jinef.read.geo.plus_codes import encode

if TYPE_CHECKING:
    from jinef.read.registry.registry import Registry

# geocode_quality values of the address model, named for answers.
QUALITY_NAMES: dict[int, str] = {0: "none", 1: "locality", 2: "thoroughfare", 3: "building"}


@dataclass(frozen=True, slots=True)
class Location:
    """Where one postcode is; lat/lon and plus_code are None when the unit has no geocode."""

    postcode: str
    lat: float | None
    lon: float | None
    plus_code: str | None
    geocode_quality: int  # 0 = none, 1 = locality, 2 = thoroughfare, 3 = building (parcel)
    geocode_source: str
    status: str  # active or retired
    building_id: int | None

    @property
    def quality_name(self) -> str:
        """The geocode quality as a word."""
        return QUALITY_NAMES.get(self.geocode_quality, str(self.geocode_quality))

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return asdict(self) | {"geocode_quality_name": self.quality_name}


def locate(registry: Registry, postcode: str) -> Location | None:
    """The location of a postcode in any written form; None when unknown (invalid input raises)."""
    a = registry.lookup(postcode)
    if a is None:
        return None
    geocoded = a.lat is not None and a.lon is not None
    plus = encode(a.lat, a.lon) if a.lat is not None and a.lon is not None else None
    return Location(a.postcode, a.lat if geocoded else None, a.lon if geocoded else None, plus,
                    a.geocode_quality if geocoded else 0, a.geocode_source, a.status, a.building_id)
