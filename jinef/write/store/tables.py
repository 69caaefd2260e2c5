"""The registry's tables and their columns, engine-neutral.

Writers pass rows as tuples in exactly these column orders; each engine turns them into its own
DDL and bulk-insert statements. Postcodes are stored as integers: lossless, since a valid code
never starts with 0, and half the size of text.
"""

from __future__ import annotations

TABLES: dict[str, tuple[str, ...]] = {
    "provinces": ("code", "name"),
    "counties": ("code", "name", "province_code"),
    "districts": ("code", "name", "county_code"),
    "rural_districts": ("code", "name", "county_code", "district_code"),
    # type: شهر/روستا/آبادی; code: SCI code for cities, synthetic for villages
    "localities": ("id", "type", "name", "code", "province_code", "county_code", "district_code",
                   "rural_district_code", "lat", "lon"),
    "neighbourhoods": ("id", "locality_id", "name"),
    "thoroughfares": ("id", "locality_id", "type", "name"),
    "buildings": ("id", "locality_id", "neighbourhood_id", "prev_thoroughfare_id", "last_thoroughfare_id",
                  "plate", "entrance", "name", "lat", "lon", "geocode_source", "geocode_quality"),
    "units": ("id", "postcode", "building_id", "floor", "unit", "usage", "status", "valid_from", "valid_to"),
    "meta": ("key", "value"),
}
