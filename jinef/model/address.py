"""The national address model: exactly the postcode certificate's levels (domain.md §3).

One :class:`Address` is one addressable unit (a flat, a shop, a workshop, a rural house) with
its postcode. The single-line standard national address is built here and nowhere else.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date
from enum import StrEnum
from functools import lru_cache

from jinef.model.digits import to_persian_digits
from jinef.model.slots_init import slots_constructor


class LocalityType(StrEnum):
    """نوع مکان: what kind of settlement the unit is in."""

    CITY = "شهر"
    VILLAGE = "روستا"
    HAMLET = "آبادی"


class ThoroughfareType(StrEnum):
    """The type words of the certificate's thoroughfares."""

    STREET = "خیابان"
    ALLEY = "کوچه"
    DEAD_END = "بن‌بست"
    BOULEVARD = "بلوار"
    SQUARE = "میدان"
    HIGHWAY = "بزرگراه"
    ROAD = "جاده"
    ROUNDABOUT = "فلکه"
    CROSSROADS = "چهارراه"
    ESTATE = "کوی"
    TOWNSHIP = "شهرک"
    COMPLEX = "مجتمع"
    TOWER = "برج"


class Usage(StrEnum):
    """نوع کاربری, stored and exported by its English code."""

    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    WORKSHOP = "workshop"
    ADMINISTRATIVE = "administrative"
    EDUCATIONAL = "educational"
    HEALTH = "health"
    RELIGIOUS = "religious"
    AGRICULTURAL = "agricultural"

    @property
    def label_fa(self) -> str:
        """The Persian label printed on the certificate."""
        return USAGE_LABELS_FA[self]


USAGE_LABELS_FA: dict[Usage, str] = {
    Usage.RESIDENTIAL: "مسکونی",
    Usage.COMMERCIAL: "تجاری",
    Usage.WORKSHOP: "کارگاهی",
    Usage.ADMINISTRATIVE: "اداری",
    Usage.EDUCATIONAL: "آموزشی",
    Usage.HEALTH: "درمانی",
    Usage.RELIGIOUS: "مذهبی",
    Usage.AGRICULTURAL: "کشاورزی",
}


# Words that name a kind of building. A building name already starting with one («ساختمان سپهر», «برج میلاد»)
# is printed as it is: «ساختمان» in front of it would repeat or contradict its own type word.
BUILDING_TYPE_WORDS: tuple[str, ...] = ("ساختمان", "برج", "مجتمع", "مجموعه", "آپارتمان", "اپارتمان", "پاساژ",
                                        "عمارت", "سرای", "سرا", "تیمچه", "بازار", "مرکز تجاری", "مرکز خرید")
NEIGHBOURHOOD_WORD = "محله"


class Status(StrEnum):
    """A postcode is active, or retired (kept forever, never reused)."""

    ACTIVE = "active"
    RETIRED = "retired"


class GeocodeSource(StrEnum):
    """Where a unit's point came from."""

    GENERATED = "generated"
    SURVEY = "survey"
    IMPORTED = "imported"
    INTERPOLATED = "interpolated"


# The export/import file's columns, in order. Outside checks rely on this exact header.
EXPORT_COLUMNS: tuple[str, ...] = (
    "postcode",
    "province",
    "county",
    "district",
    "rural_district",
    "locality_type",
    "locality",
    "neighbourhood",
    "prev_thoroughfare",
    "last_thoroughfare",
    "plate",
    "entrance",
    "building",
    "floor",
    "unit",
    "usage",
    "lat",
    "lon",
    "address",
)


@dataclass(frozen=True, slots=True)
class Address:
    """One unit of the national address file, large to small as on the certificate."""

    postcode: str
    province: str
    county: str
    district: str
    rural_district: str
    locality_type: str
    locality: str
    neighbourhood: str
    prev_thoroughfare: str  # with its type word, e.g. «خیابان آزادی»; may be empty
    last_thoroughfare: str  # with its type word
    plate: str
    entrance: str
    building: str
    floor: int | None  # 0 = همکف, negative = below ground
    unit: str
    usage: str
    lat: float | None
    lon: float | None
    geocode_source: str = GeocodeSource.GENERATED.value
    geocode_quality: int = 0  # 0 = none, 1 = locality, 2 = thoroughfare, 3 = building (parcel)
    status: str = Status.ACTIVE.value
    valid_from: date | None = None
    valid_to: date | None = None
    id: int | None = None  # stable unit id inside the store
    building_id: int | None = None

    @property
    def standard_address(self) -> str:
        """نشانی استاندارد ملی: the single-line standard national address."""
        return standard_address(self)

    def export_row(self) -> dict[str, str]:
        """The export file's fields as text, in :data:`EXPORT_COLUMNS` order."""
        return {
            "postcode": self.postcode,
            "province": self.province,
            "county": self.county,
            "district": self.district,
            "rural_district": self.rural_district,
            "locality_type": self.locality_type,
            "locality": self.locality,
            "neighbourhood": self.neighbourhood,
            "prev_thoroughfare": self.prev_thoroughfare,
            "last_thoroughfare": self.last_thoroughfare,
            "plate": self.plate,
            "entrance": self.entrance,
            "building": self.building,
            "floor": "" if self.floor is None else str(self.floor),
            "unit": self.unit,
            "usage": self.usage,
            "lat": format_coord(self.lat),
            "lon": format_coord(self.lon),
            "address": self.standard_address,
        }

    def as_dict(self) -> dict[str, object]:
        """Every field, JSON-ready (dates as ISO text), plus the standard address."""
        d = asdict(self)
        for k in ("valid_from", "valid_to"):
            v = d[k]
            d[k] = v.isoformat() if v else None
        d["address"] = self.standard_address
        return d


ADDRESS_FIELDS = tuple(f.name for f in fields(Address))

# Readers build Addresses by the hundred per request: straight into the slots (see jinef.model.slots_init).
_make_address = slots_constructor(Address)


def address_from_values(values: tuple[object, ...]) -> Address:
    """An :class:`Address` from its field values in :data:`ADDRESS_FIELDS` order (no defaults applied)."""
    if len(values) != len(ADDRESS_FIELDS):
        raise ValueError(f"an Address has {len(ADDRESS_FIELDS)} fields, got {len(values)} values")
    return _make_address(*values)


def format_coord(value: float | None) -> str:
    """Coordinates with 7 decimals (about 1 cm), the precision stored and exported."""
    return "" if value is None else f"{value:.7f}"


@lru_cache(maxsize=256)
def floor_text(floor: int) -> str:
    """Floor as printed: 0 is همکف, below ground is «منفی N»."""
    if floor == 0:
        return "همکف"
    if floor < 0:
        return "منفی " + to_persian_digits(str(-floor))
    return to_persian_digits(str(floor))


# Digits are made Persian part by part, each part's text remembered: a registry has few distinct names,
# plates and unit labels, and converting the whole joined line was most of the cost of building it.
fa_digits = lru_cache(maxsize=1 << 17)(to_persian_digits)


def _starts_with(name: str, words: tuple[str, ...]) -> bool:
    return any(name == w or name.startswith((w + " ", w + "\u200c")) for w in words)


@lru_cache(maxsize=1 << 16)
def labelled(word: str, name: str, own_words: tuple[str, ...] = ()) -> str:
    """«word name» with Persian digits, or the name alone when it already starts with ``word`` or ``own_words``."""
    if _starts_with(name, (word, *own_words)):
        return fa_digits(name)
    return f"{word} {fa_digits(name)}"


def building_part(name: str) -> str:
    """The building's part of the standard address: «ساختمان X», or the name alone if it names its kind."""
    return labelled("ساختمان", name, BUILDING_TYPE_WORDS)


def neighbourhood_part(name: str) -> str:
    """The neighbourhood's part of the standard address: «محله X», or «محله X» as written."""
    return labelled(NEIGHBOURHOOD_WORD, name)


@lru_cache(maxsize=1 << 16)
def admin_line(province: str, county: str, district: str, rural_district: str, locality_type: str,
               locality: str) -> str:
    """The standard address down to the locality; a country has tens of thousands of these, so remembered."""
    parts: list[str] = [f"استان {fa_digits(province)}", f"شهرستان {fa_digits(county)}"]
    if district:
        parts.append(f"بخش {fa_digits(district)}")
    if rural_district:
        parts.append(f"دهستان {fa_digits(rural_district)}")
    if locality:  # «شهر امام» is a city's whole name: not «شهر شهر امام»
        parts.append(labelled(locality_type, locality) if locality_type else fa_digits(locality))
    return "، ".join(parts)


def standard_address(a: Address) -> str:
    """Build the standard national address, large to small, Persian digits, «، » between parts."""
    parts: list[str] = [admin_line(a.province, a.county, a.district, a.rural_district, a.locality_type, a.locality)]
    if a.neighbourhood:
        parts.append(neighbourhood_part(a.neighbourhood))
    if a.prev_thoroughfare:
        parts.append(fa_digits(a.prev_thoroughfare))
    if a.last_thoroughfare:
        parts.append(fa_digits(a.last_thoroughfare))
    if a.plate:
        parts.append("پلاک " + fa_digits(a.plate))
    if a.entrance:
        parts.append("ورودی " + fa_digits(a.entrance))
    if a.building:
        parts.append(building_part(a.building))
    if a.floor is not None:
        parts.append("طبقه " + floor_text(a.floor))
    if a.unit:
        parts.append("واحد " + fa_digits(a.unit))
    return "، ".join(parts)
