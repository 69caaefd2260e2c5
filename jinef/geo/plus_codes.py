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


def _round6(x: float) -> float:
    # What np.round(x, 6) does (scale, round half to even, unscale), so both paths give the same cell.
    return round(x * 1e6) / 1e6


def encode(lat: float, lon: float) -> str:
    """The 10-digit Plus Code of one point (plain Python, same arithmetic as :func:`encode_many_bytes`)."""
    lat = min(max(float(lat), -90.0), 90.0)
    lon = float(lon)
    if lon < -180 or lon >= 180:
        lon = (lon + 180) % 360 - 180
    if lat == 90.0:
        lat = 90.0 - 0.000125
    lat_val = int(_round6((lat + 90.0) * _FINAL_LAT_PRECISION)) // 5**5
    lng_val = int(_round6((lon + 180.0) * _FINAL_LNG_PRECISION)) // 4**5
    out = [""] * 10
    for i in range(5):
        lat_val, lat_digit = divmod(lat_val, 20)
        lng_val, lng_digit = divmod(lng_val, 20)
        out[8 - 2 * i] = _DIGITS[lat_digit]
        out[9 - 2 * i] = _DIGITS[lng_digit]
    return "".join(out[:8]) + "+" + "".join(out[8:])
