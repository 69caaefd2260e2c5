"""What each part of an address is worth when it agrees with a candidate (or costs when it contradicts it).

Every score in the geocoder is a sum of these; confidence is calibrated on the margin between the best and
the next candidate's scores (:mod:`jinef.read.geocode.calibration`), so changing a weight means re-running
``bench/geocode_eval.py --calibrate``.
"""

from __future__ import annotations

LAST = 4.0  # the last thoroughfare (معبر آخر) matches
PREV = 3.0  # the thoroughfare before it matches
LAST_POSITION = 0.2  # the matching written thoroughfare was written last
TYPE = 0.3  # a matched thoroughfare's type word agrees (or, negated, disagrees): «بلوار انجیر» ≠ «خیابان انجیر»
PREV_ABOVE = 0.5  # a written thoroughfare is the one above the prev: consistent, adds little
PREV_MISSING = 1.0  # a written thoroughfare found nowhere above the building's street
PLATE = 4.0
UNIT = 2.5
FLOOR = 1.0
ENTRANCE = 1.5
BUILDING_NAME = 1.0
LOCALITY = 2.0
LOCALITY_TYPE = 0.5  # «شهر» / «روستا» written and right (or, negated, wrong)
NEIGHBOURHOOD = 1.5
NEIGHBOURHOOD_MISS = 0.75  # a named neighbourhood that is not the candidate's
ADMIN = 1.0  # province or county named and right; a wrong county costs this, a wrong province twice this
POSTCODE = 4.0
POSTCODE_OTHER = 1.0  # a candidate other than the unit a written postcode names
CONFLICT = 3.0  # the candidate's street or plate contradicts the written one
NEAR = 1.5  # at most, for a candidate at the ``near`` point (decays over NEAR_KM)
NEAR_KM = 3.0
TYPO_STEP = 0.15  # a name matched with one edit is worth this much less per edit
