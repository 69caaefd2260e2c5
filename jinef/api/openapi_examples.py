"""An example for every parameter and request body of the API, as Swagger's "Try it out" fills them in.

The postcodes, the building and the points are real in the default registry (`make run`: 200,000 units, the
fixed seed): 1139500009 is «تهران، خیابان ارغوان، خیابان شهید مطهری، پلاک ۴، طبقه ۲، واحد ۴». The national code
passes the checksum but is a run of one pattern («4242424248»); the mobile is the operators' sample number. A key is
never an example: Swagger sends the one given under "Authorize", and a GNAF envelope's ``Signature`` says where to
put it.
"""

from __future__ import annotations

from typing import Any

POSTCODE = "1139500009"
NEIGHBOUR = "1139500010"  # the next unit of the same building
BUILDING_ID = 566000000002
LAT, LON = 35.688627, 51.407870
ADDRESS = "تهران، خیابان ارغوان، خیابان شهید مطهری، پلاک ۴، طبقه ۲، واحد ۴"
NATIONAL_CODE = "4242424248"
MOBILE = "09121234567"
SIGNATURE = "YOUR-API-KEY"
AGENT = "postman-12"

# By parameter name; PARAMETERS_AT overrides one where a path gives the same name another meaning.
PARAMETERS: dict[str, Any] = {
    "postcode": POSTCODE,
    "lat": str(LAT),
    "lon": str(LON),
    "radius_m": 100,
    "limit": 5,
    "format": "json",  # or geojson (a FeatureCollection)
    "q": ADDRESS,
    "province": "تهران",
    "county": "تهران",
    "locality": "تهران",
    "near_lat": 35.7,
    "near_lon": 51.4,
    "level": "provinces",
    "request_id": "vr_3f9c2a71d04b8e6a5c11",
    "building_id": BUILDING_ID,
    "since": 0,
    "status": "requested",
    "code": "23",
}
PARAMETERS_AT: dict[tuple[str, str], Any] = {
    ("/v1/autocomplete", "q"): "تهران، خیابان ارغ",  # the last word half typed
    ("/v1/plans", "province"): "23",  # a province code there, not a name
    ("/v1/building-requests/{request_id}", "request_id"): 1,
    ("/v1/building-requests/{request_id}/survey", "request_id"): 1,
    ("/v1/building-requests/{request_id}/approve", "request_id"): 1,
    ("/v1/building-requests/{request_id}/reject", "request_id"): 1,
}

_UNITS = [{"floor": 3, "unit": "۵", "usage": "residential"}, {"floor": 0, "unit": "۱", "usage": "تجاری"}]
_NEW_BUILDING = {"province": "تهران", "county": "تهران", "locality_type": "شهر", "locality": "تهران",
                 "neighbourhood": "توحید", "prev_thoroughfare": "خیابان ارغوان",
                 "last_thoroughfare": "خیابان شهید مطهری", "plate": "۱۸", "building": "ساختمان نگین",
                 "lat": 35.68871, "lon": 51.40852, "units": _UNITS, "reason": "new_building",
                 "note": "پروانه ساخت ۱۴۰۳/۴۵۶"}

# By the request body's schema name (components/schemas); BODIES_AT by (method, path, media type), for a body that
# has no schema of its own (a CSV upload, say).
BODIES: dict[str, Any] = {
    "LookupRequest": {"postcodes": [POSTCODE, "۱۱۳۹۵-۰۰۰۱۰", "1234567890"]},  # the last breaks a rule: said per item
    "GnafRequest": {"ClientBatchID": 1001, "Signature": SIGNATURE,
                    "Postcodes": [{"ClientRowID": 1, "PostCode": POSTCODE}, {"ClientRowID": 2, "PostCode": NEIGHBOUR}]},
    "GnafMatchRequest": {"ClientBatchID": 1002, "Signature": SIGNATURE, "Purpose": "banking_kyc",
                         "Items": [{"ClientRowID": 1, "NationalCode": NATIONAL_CODE, "PostCode": POSTCODE}]},
    "ReverseBatchRequest": {"points": [{"lat": LAT, "lon": LON}, {"lat": 32.65743, "lon": 51.67752}],
                            "radius_m": 100},
    "GeocodeBatchRequest": {"addresses": [ADDRESS, "تهران، خ ارغوان، خ شهید مطهری، پ ۴"], "limit": 1},
    "StructuredGeocodeRequest": {"province": "تهران", "locality": "تهران",
                                 "streets": ["خیابان ارغوان", "خیابان شهید مطهری"], "plate": "۴", "floor": 2,
                                 "unit": "۴"},
    "MatchRequest": {"national_code": NATIONAL_CODE, "postcode": POSTCODE, "purpose": "banking_kyc"},
    "MatchBatchRequest": {"purpose": "telecom_subscription",
                          "items": [{"row_id": 1, "national_code": NATIONAL_CODE, "postcode": POSTCODE}]},
    "VerificationRequest": {"national_code": NATIONAL_CODE, "mobile": MOBILE, "postcode": POSTCODE,
                            "role": "resident"},
    "VisitRequest": {"agent": AGENT},
    "ConfirmRequest": {"agent": AGENT, "code": "483920"},
    "RejectRequest": {"agent": AGENT, "reason": "not_at_address"},
    "ChallengeRequest": {"national_code": NATIONAL_CODE, "mobile": MOBILE},
    "AddressesRequest": {"challenge_id": "ch_8d2e4b7a19c05f3e6d20", "code": "305117"},
    "BuildingIn": _NEW_BUILDING,
    "BuildingRequestIn": {**_NEW_BUILDING, "applicant": "builder"},
    "UnitsIn": {"units": _UNITS[:1], "reason": "new_building", "note": "طبقه سوم افزوده شد"},
    "PatchIn": {"floor": 2, "unit": "۴", "usage": "مسکونی", "reason": "correction", "note": "اصلاح پس از بازدید"},
    "ReasonIn": {"reason": "demolished", "note": "تخریب برای نوسازی"},
    "SplitIn": {"parts": [{"floor": 2, "unit": "۴الف"}, {"floor": 2, "unit": "۴ب"}], "reason": "correction"},
    "MergeIn": {"postcodes": [POSTCODE, NEIGHBOUR], "floor": 2, "unit": "۴", "reason": "correction"},
    "MoveIn": {"building_id": BUILDING_ID, "reason": "correction"},
    "SurveyIn": {"lat": 35.68871, "lon": 51.40852, "plate": "۱۸", "photo_ref": "IMG-1403-0457",
                 "note": "ساختمان چهار طبقه", "units": _UNITS},
    "DecisionIn": {"reason": "مدارک کامل است"},
    "VerifyIn": {"payload": "JNF1.1139500009.3f2a9c1d.20250301.20250531.000123.k1.T3Vyc2lnbmF0dXJl"},
    "PlanIn": {"province": "23", "measure": "geocoded_share", "target": 0.95, "deadline": "1405-06-31",
               "note": "هدف برنامه هفتم"},
}
BODIES_AT: dict[tuple[str, str, str], Any] = {}
