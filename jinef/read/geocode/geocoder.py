"""Free-text and structured addresses to ranked registry candidates, with a calibrated confidence.

The parser (:mod:`jinef.text.parser`) tags what the text says; :mod:`jinef.read.geocode.search` finds and scores
candidates from it; the raw score margin between the best and the next distinct candidate is mapped to a
confidence by :mod:`jinef.read.geocode.calibration`.
"""

from __future__ import annotations

import re
from typing import Any

from jinef.image.folder import ReadImage
from jinef.model.postcode import validate as validate_postcode
from jinef.read.geocode.changed_units import merge_changed
from jinef.read.geocode.index import GeocodeIndex
from jinef.read.geocode.results import LEVELS, Candidate, GeocodeResult, Query
from jinef.read.geocode.search import _Search
from jinef.read.registry.address_table import AddressTable
from jinef.read.registry.overlay import Overlay
from jinef.text.parser import parse_address, split_thoroughfare

__all__ = ["LEVELS", "Candidate", "GeocodeResult", "Geocoder", "Query"]


class Geocoder:
    """Geocode addresses against an in-memory index of a registry."""

    def __init__(self, index: GeocodeIndex, overlay: Overlay | None = None) -> None:
        self.index = index
        self.overlay = overlay  # units changed since the image, answered on top of it

    @classmethod
    def from_image(cls, image: ReadImage, table: AddressTable | None = None,
                   overlay: Overlay | None = None) -> Geocoder:
        """A geocoder over a read image (its address table too, unless given) and the changes since."""
        return cls(GeocodeIndex(image, table or AddressTable(image)), overlay)

    def geocode(self, text: str, limit: int = 5, province: str | None = None, county: str | None = None,
                locality: str | None = None, near: tuple[float, float] | None = None) -> GeocodeResult:
        """Geocode a free-text address; never raises on any ``str``."""
        reason = _reject(text)
        if reason:
            return GeocodeResult(text if isinstance(text, str) else "", [], reason=reason)
        parsed = parse_address(text)
        if parsed.is_empty:
            return GeocodeResult(text, [], ignored=list(parsed.ignored), reason="no address parts recognised")
        return self._search(text, Query.from_parsed(parsed), limit, province, county, locality, near)

    def geocode_structured(self, fields: dict[str, Any], limit: int = 5, near: tuple[float, float] | None = None,
                           ) -> GeocodeResult:
        """Geocode fields (province, county, locality, neighbourhood, street(s), plate, entrance, floor, unit)."""
        streets: list[str] = []
        for k in ("streets", "thoroughfares"):
            v = fields.get(k)
            if isinstance(v, list | tuple):
                streets.extend(str(x) for x in v if x)
        for k in ("prev_thoroughfare", "street", "last_thoroughfare"):
            if fields.get(k):
                streets.append(str(fields[k]))
        ths: list[tuple[str, str]] = []
        for s in streets:
            t = split_thoroughfare(s)
            ths.append((t.type_word, t.name))
        # Fields come from forms: a postcode or floor that cannot be read is set aside, never trusted.
        floor_raw = fields.get("floor")
        floor: int | None = None
        ignored: list[str] = []
        if floor_raw not in (None, ""):
            try:
                floor = int(str(floor_raw))
            except ValueError:
                ignored.append(f"{floor_raw} (floor is not a whole number)")
        postcode = _s(fields.get("postcode"))
        if postcode is not None:
            v = validate_postcode(postcode)
            if v.postcode is None:
                ignored.append(f"{postcode} (not a valid postcode: {', '.join(v.reasons)})")
            postcode = v.postcode
        q = Query(
            province=fields.get("province") or None, county=fields.get("county") or None,
            locality=fields.get("locality") or None, neighbourhood=fields.get("neighbourhood") or None,
            thoroughfares=ths, plate=_s(fields.get("plate")), entrance=_s(fields.get("entrance")),
            building=_s(fields.get("building")), floor=floor,
            unit=_s(fields.get("unit")), postcode=postcode,
        )
        res = self._search(str(fields), q, limit, None, None, None, near)
        res.ignored[:0] = ignored
        return res

    def _search(self, text: str, q: Query, limit: int, province: str | None, county: str | None,
                locality: str | None, near: tuple[float, float] | None) -> GeocodeResult:
        s = _Search(self.index, q, limit, province, county, locality, near)
        cands = s.run()
        if self.overlay is not None and len(self.overlay):
            named = [self.index.loc_name[loc] for loc in s.named]  # the localities the query was read to name
            cands = s.finish(merge_changed(cands, s.q, self.overlay, named))
        reason = "" if cands else "nothing in the registry matches"
        return GeocodeResult(text, cands, corrections=s.corrections, ignored=s.ignored, reason=reason)


def _s(v: Any) -> str | None:
    return None if v is None or v == "" else str(v)


_MAX_TEXT = 2000
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f]")
_PERSIAN = re.compile("[\u0600-\u06ff0-9]")


def _reject(text: Any) -> str:
    """Why an input cannot be an address ('' when it may be one)."""
    if not isinstance(text, str):
        return "not text"
    if not text.strip():
        return "empty"
    if len(text) > _MAX_TEXT:
        return f"too long ({len(text)} characters)"
    if "\x00" in text or len(_CONTROL.findall(text)) > 3:
        return "control characters or binary data"
    if _PERSIAN.search(text) is None:
        return "no Persian text"
    if "\ufffd" in text:
        return "undecodable bytes"
    return ""
