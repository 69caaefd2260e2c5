"""Reverse geocoding against the small registry: real files, brute force as the reference."""

from __future__ import annotations

import numpy as np
import pytest

from jinef.read.geo import building_index
from jinef.read.geo.building_index import haversine_m
from jinef.read.geo.reverse import INVALID, NO_BUILDING, OK, OUTSIDE, STATUSES, ReverseGeocoder

OUTSIDE_POINTS = {
    "persian_gulf": (26.9, 51.6),
    "caspian": (38.6, 51.2),
    "gulf_of_oman": (24.9, 58.5),
    "baghdad": (33.3152, 44.3661),
    "kabul": (34.5553, 69.2075),
}


def test_point_near_building_resolves_to_it(geocoder: ReverseGeocoder) -> None:
    b = geocoder.buildings
    rng = np.random.default_rng(11)
    for row in rng.integers(0, len(b), 50):
        lat, lon = b.lats[row], b.lons[row]
        # ~2 m north-east of the building: nearer to it than to any other building 5+ m away.
        res = geocoder.reverse(lat + 1.3e-5, lon + 1.3e-5, radius_m=50, limit=3)
        assert res.status == OK
        top = res.buildings[0]
        others = haversine_m(lat, lon, np.delete(b.lats, row), np.delete(b.lons, row))
        if others.min() > 6:
            assert top.building_id == b.building_ids(np.array([row]))[0]
            assert top.distance_m < 3
            assert top.postcodes == tuple(b.postcodes_of(int(row)))


def test_outside_iran(geocoder: ReverseGeocoder) -> None:
    for name, (lat, lon) in OUTSIDE_POINTS.items():
        res = geocoder.reverse(lat, lon)
        assert res.status == OUTSIDE, name
        assert res.province is None and res.county is None and not res.buildings
        assert res.plus_code


def test_invalid_coordinates_single_and_batch(geocoder: ReverseGeocoder) -> None:
    cases = [(float("nan"), 51.0, "lat_not_a_number"), (35.0, float("nan"), "lon_not_a_number"),
             (91.0, 51.0, "lat_out_of_range"), (35.0, 181.0, "lon_out_of_range"),
             (float("inf"), 51.0, "lat_not_a_number")]
    for lat, lon, reason in cases:
        res = geocoder.reverse(lat, lon)
        assert (res.status, res.reason) == (INVALID, reason)
    batch = geocoder.reverse_many(np.array([c[0] for c in cases]), np.array([c[1] for c in cases]))
    assert all(STATUSES[s] == INVALID for s in batch.status)
    assert (batch.postcode == 0).all() and np.isnan(batch.distance_m).all()


def test_no_building_within_radius_still_gives_admin(geocoder: ReverseGeocoder) -> None:
    res = geocoder.reverse(30.5, 58.5, radius_m=10)  # Lut desert, Kerman
    assert res.status == NO_BUILDING
    assert res.province is not None and res.province.code == "08"
    assert res.county is not None


def test_batch_equals_brute_force(geocoder: ReverseGeocoder) -> None:
    b = geocoder.buildings
    rng = np.random.default_rng(5)
    rows = rng.integers(0, len(b), 300)
    lats = b.lats[rows] + rng.normal(0, 0.002, 300)
    lons = b.lons[rows] + rng.normal(0, 0.002, 300)
    radius = 250.0
    batch = geocoder.reverse_many(lats, lons, radius_m=radius)
    for i in range(len(lats)):
        d = haversine_m(lats[i], lons[i], b.lats, b.lons)
        j = int(np.argmin(d))
        if STATUSES[batch.status[i]] == OUTSIDE:
            continue
        if d[j] <= radius:
            assert STATUSES[batch.status[i]] == OK
            assert abs(batch.distance_m[i] - d[j]) < 0.01
            # Ties aside, the same building; its lowest active postcode is answered.
            assert batch.building_row[i] == j or abs(d[batch.building_row[i]] - d[j]) < 1e-6
            assert batch.postcode[i] == int(b.postcodes_of(int(batch.building_row[i]))[0])
        else:
            assert STATUSES[batch.status[i]] == NO_BUILDING


def test_single_and_batch_agree(geocoder: ReverseGeocoder) -> None:
    rng = np.random.default_rng(8)
    lats, lons = rng.uniform(25, 40, 200), rng.uniform(44, 63.5, 200)
    batch = geocoder.reverse_many(lats, lons, radius_m=5000)
    for i in range(len(lats)):
        one = geocoder.reverse(float(lats[i]), float(lons[i]), radius_m=5000, limit=1)
        assert one.status == STATUSES[batch.status[i]]
        assert (one.province.name if one.province else "") == batch.province_names()[i]
        assert (one.county.name if one.county else "") == batch.county_names()[i]
        assert (one.postcode or "") == batch.postcode_text()[i]
        assert one.plus_code == batch.plus_code[i].decode()


@pytest.mark.parametrize("plain_max", [0, 10**9], ids=["numpy", "plain"])
def test_single_nearest_equals_brute_force(geocoder: ReverseGeocoder, monkeypatch: pytest.MonkeyPatch,
                                           plain_max: int) -> None:
    # Every radius takes the cell grid (its plain loop or its numpy form, forced here), an unbounded one by growing
    # radii: every path must give the brute-force answer.
    monkeypatch.setattr(building_index, "_PLAIN_PYTHON_MAX", plain_max)
    b = geocoder.buildings
    rng = np.random.default_rng(17)
    rows = rng.integers(0, len(b), 120)
    # Half the points within metres of a building, half up to ~200 m away.
    scale = np.where(np.arange(120) % 2 == 0, 0.00005, 0.001)
    lats = b.lats[rows] + rng.normal(0, 1, 120) * scale
    lons = b.lons[rows] + rng.normal(0, 1, 120) * scale
    for radius, k in ((40.0, 1), (150.0, 4), (1000.0, 1), (1000.0, 3), (20_000.0, 3), (np.inf, 2)):
        for lat, lon in zip(lats.tolist(), lons.tolist(), strict=True):
            got = b.nearest_one(lat, lon, k=k, radius_m=radius)
            d = haversine_m(lat, lon, b.lats, b.lons)
            want = np.sort(d[d <= radius])[:k]
            assert len(got) == len(want), (lat, lon, radius)
            assert np.allclose([m for _, m in got], want, atol=1e-3)
            assert np.allclose(d[[r for r, _ in got]], want, atol=1e-3)  # the rows really are at those distances
