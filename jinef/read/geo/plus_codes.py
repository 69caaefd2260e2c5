"""Open Location Code (Plus Code) encoding, vectorised with numpy.

The ``openlocationcode`` package encodes one point per call in pure Python (~15 µs), too slow for
batch reverse geocoding; this is the same integer algorithm over arrays and gives identical codes
(checked against the package in the tests).
"""

from __future__ import annotations

import numpy as np

CODE_LENGTH = 10  # the standard length: a cell of about 14 m × 14 m
_ALPHABET = np.frombuffer(b"23456789CFGHJMPQRVWX", dtype=np.uint8)
_FINAL_LAT_PRECISION = 25_000_000  # 8000 * 5**5
_FINAL_LNG_PRECISION = 8_192_000  # 8000 * 4**5


def encode_many_bytes(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """10-digit Plus Codes for arrays of coordinates, as ASCII bytes (``S11``): the fast form for batches."""
    lat = np.clip(np.asarray(lats, dtype=np.float64), -90.0, 90.0)
    lon = np.asarray(lons, dtype=np.float64)
    lon = np.where((lon < -180) | (lon >= 180), (lon + 180) % 360 - 180, lon)
    # Latitude 90 is moved just inside the last cell, as the reference implementation does.
    lat = np.where(lat == 90.0, 90.0 - 0.000125, lat)
    # Round before truncating, as the reference does, so 0.1-style decimals land in the right cell.
    # After dropping the grid part the values fit in int32, whose division is much faster.
    lat_val = (np.round((lat + 90.0) * _FINAL_LAT_PRECISION, 6).astype(np.int64) // 5**5).astype(np.int32)
    lng_val = (np.round((lon + 180.0) * _FINAL_LNG_PRECISION, 6).astype(np.int64) // 4**5).astype(np.int32)
    out = np.empty((lat.shape[0], 11), dtype=np.uint8)
    out[:, 8] = ord("+")
    cols = (9, 10, 6, 7, 4, 5, 2, 3, 0, 1)  # digit positions from the least significant pair up
    for i in range(5):
        lat_val, lat_digit = np.divmod(lat_val, 20)
        lng_val, lng_digit = np.divmod(lng_val, 20)
        out[:, cols[2 * i]] = _ALPHABET[lat_digit]
        out[:, cols[2 * i + 1]] = _ALPHABET[lng_digit]
    return out.view("S11").ravel()


def encode_many(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """10-digit Plus Codes for arrays of coordinates, as a numpy array of ``str``."""
    return encode_many_bytes(lats, lons).astype(str)


_DIGITS = "23456789CFGHJMPQRVWX"
_PAIRS = [a + b for a in _DIGITS for b in _DIGITS]  # latitude digit * 20 + longitude digit → the two characters


def encode(lat: float, lon: float) -> str:
    """The 10-digit Plus Code of one point (plain Python, same arithmetic as :func:`encode_many_bytes`)."""
    lat = min(max(float(lat), -90.0), 90.0)
    lon = float(lon)
    if lon < -180 or lon >= 180:
        lon = (lon + 180) % 360 - 180
    if lat == 90.0:
        lat = 90.0 - 0.000125
    # round(x * 1e6) / 1e6 is what np.round(x, 6) does (scale, round half to even, unscale): both paths give
    # the same cell.
    lat_val = int(round((lat + 90.0) * _FINAL_LAT_PRECISION * 1e6) / 1e6) // 3125  # 5**5
    lng_val = int(round((lon + 180.0) * _FINAL_LNG_PRECISION * 1e6) / 1e6) // 1024  # 4**5
    # Unrolled, one table lookup per latitude/longitude digit pair: this runs once per single query. Both values
    # are below 20**5, so after three divisions the rest is the first two digits.
    lat_val, a5 = divmod(lat_val, 20)
    lng_val, b5 = divmod(lng_val, 20)
    lat_val, a4 = divmod(lat_val, 20)
    lng_val, b4 = divmod(lng_val, 20)
    lat_val, a3 = divmod(lat_val, 20)
    lng_val, b3 = divmod(lng_val, 20)
    a1, a2 = divmod(lat_val, 20)
    b1, b2 = divmod(lng_val, 20)
    p = _PAIRS
    return p[a1 * 20 + b1] + p[a2 * 20 + b2] + p[a3 * 20 + b3] + p[a4 * 20 + b4] + "+" + p[a5 * 20 + b5]
