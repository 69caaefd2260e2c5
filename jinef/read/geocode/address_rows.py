"""The result columns a geocoded address file gets, row by row: one implementation for the CLI and HTTP.

`jinef geocode FILE`, `jinef batch geocode` and `POST /v1/geocode/csv` append these columns to each input row,
so a file gives the same rows whichever way it is sent.
"""

from __future__ import annotations

from collections.abc import Sequence

from jinef.model.address import format_coord
from jinef.read.geocode.geocoder import Geocoder, GeocodeResult

RESULT_COLUMNS = ("postcode", "match_level", "confidence", "lat", "lon", "matched_address", "reason")


def result_cells(res: GeocodeResult) -> list[str]:
    """The appended output columns for one result."""
    best = res.best
    if best is None:
        return ["", "none", "0", "", "", "", res.reason or "no match"]
    reason = "; ".join(
        [f"conflict: {', '.join(best.conflicts)}"] if best.conflicts else []
    ) or ("units: " + " ".join(best.unit_postcodes[:20]) if best.level == "building" else "")
    return [best.postcode or "", best.level, f"{best.confidence:.4f}",
            format_coord(best.lat if best.lat == best.lat else None),
            format_coord(best.lon if best.lon == best.lon else None), best.address, reason]


def geocode_cells(geocoder: Geocoder, texts: Sequence[str]) -> list[list[str]]:
    """The result columns of each address, in order; an address that fails gets an ``error:`` reason alone."""
    out = []
    for t in texts:
        try:
            out.append(result_cells(geocoder.geocode(t, limit=1)))
        except Exception as exc:  # one bad row must not stop a batch
            out.append(["", "none", "0", "", "", "", f"error: {type(exc).__name__}"])
    return out
