"""Configuration of the verification hub: time limits, tries, per-person limits, thresholds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from jinef.read.verify.abuse import AbuseConfig

# Why an organisation asks (Shahkar-style purpose codes); every match is audited with one.
DEFAULT_PURPOSES: frozenset[str] = frozenset(
    {
        "banking_kyc",  # opening an account, a loan, a card
        "telecom_subscription",  # SIM card, fixed line, internet (regulator's requirement)
        "insurance",
        "delivery",  # parcel and courier services checking a delivery address
        "utility_connection",  # water, power, gas
        "government_service",
        "court_notice",  # judicial notices served at the legal residence
        "commercial_licence",
    }
)

# Why a field agent rejects a request at the door.
REJECT_REASONS: dict[str, str] = {
    "not_at_address": "nobody at the address accepted the visit",
    "identity_mismatch": "the person at the door is not the person who asked",
    "address_not_found": "the address could not be found on the ground",
    "wrong_unit": "the person lives or works at another unit of the building",
    "refused_entry": "the visit was refused",
    "other": "another reason, recorded by the agent",
}

# Why a verified link ends.
END_REASONS: dict[str, str] = {
    "moved_out": "the person no longer lives there",
    "sold": "the owner sold the property",
    "lease_ended": "the lease ended",
    "business_closed": "the business closed or moved",
    "postcode_retired": "the postcode was retired",
    "other": "another reason",
}


@dataclass(frozen=True, slots=True)
class VerifyConfig:
    """Every tunable of the hub, with defaults that are safe for production."""

    code_ttl_seconds: int = 72 * 3600  # the postman visits within two working days
    code_digits: int = 6
    max_code_tries: int = 3  # wrong codes at the door before the request is rejected
    max_code_sends: int = 3  # first send plus resends per request
    # The three limits below are judged when the agent confirms at the door (verified links only), never when
    # a request is opened: a request answers the same whatever links exist (see service.Workflow.request).
    max_links_per_person: int = 5  # verified links of one national code, any role
    max_residences_per_person: int = 2  # of which with role "resident"
    max_links_per_postcode: int = 12  # verified links on one postcode, any person
    # Requests opened with one mobile per hour: bounds the texts anyone can make a phone receive.
    max_requests_per_mobile_per_hour: int = 5
    challenge_ttl_seconds: int = 300
    max_challenge_tries: int = 3
    max_challenges_per_mobile_per_hour: int = 5
    purposes: frozenset[str] = DEFAULT_PURPOSES
    abuse: AbuseConfig = field(default_factory=AbuseConfig)
    durability: Literal["full", "normal", "off"] = "full"  # SQLite synchronous: see sqlite_store.py
    group_commit: bool = True  # concurrent matches share audit commits (see audit.py)
    # Development only: texts go to the verify_outbox table (sealed) instead of a gateway. Off, and with no
    # gateway given, anything that needs a one-time code is refused (sms_unavailable).
    dev_sms_outbox: bool = False
