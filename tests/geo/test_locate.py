"""Postcode → location and Plus Codes."""

from __future__ import annotations

import numpy as np
import pytest
from openlocationcode import openlocationcode as olc

from jinef.model.digits import to_persian_digits
from jinef.model.postcode import PostcodeError
from jinef.read.geo.plus_codes import encode, encode_many
from jinef.read.registry.registry import Registry


def test_locate_known_postcode(registry: Registry) -> None:
    a = next(registry.addresses())
    loc = registry.locate(to_persian_digits(a.postcode))
    assert loc is not None
    assert (loc.postcode, loc.lat, loc.lon) == (a.postcode, a.lat, a.lon)
    assert loc.plus_code == olc.encode(a.lat, a.lon)
    assert loc.geocode_quality == a.geocode_quality and loc.geocode_source == a.geocode_source
    assert loc.as_dict()["geocode_quality_name"] in ("none", "locality", "thoroughfare", "building")


def test_locate_unknown_and_invalid(registry: Registry) -> None:
    assert registry.lookup("9999999998") is None
    assert registry.locate("9999999998") is None
    with pytest.raises(PostcodeError):
        registry.locate("12345")


def test_plus_codes_match_reference_implementation() -> None:
    rng = np.random.default_rng(3)
    lats = np.concatenate([rng.uniform(-90, 90, 3000), rng.uniform(25, 40, 3000),
                           np.round(rng.uniform(25, 40, 500), 2), [90.0, -90.0, 0.0]])
    lons = np.concatenate([rng.uniform(-180, 180, 3000), rng.uniform(44, 64, 3000),
                           np.round(rng.uniform(44, 64, 500), 3), [179.9999999, -180.0, 0.0]])
    ours = encode_many(lats, lons)
    assert [str(c) for c in ours] == [olc.encode(la, lo) for la, lo in zip(lats, lons, strict=True)]
    assert encode(35.6892, 51.389) == olc.encode(35.6892, 51.389)
    # The scalar encoder (single reverse queries) gives the same codes, edges and wrapped longitudes included.
    lons = np.concatenate([lons, [180.0, 185.5, -200.25]])
    lats = np.concatenate([lats, [12.5, 100.0, -95.0]])
    assert [encode(float(la), float(lo)) for la, lo in zip(lats, lons, strict=True)] == [
        str(c) for c in encode_many(lats, lons)]
