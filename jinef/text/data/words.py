"""Address vocabulary: type words, detail words, abbreviations, keyboard slips, landmark words.

Keys are written as people write them; a space inside a key means the phrase may be written
with a space, a ZWNJ or glued («بن بست» = «بن‌بست» = «بنبست»). Words with «آ» are also found
written with «ا». Values are the canonical forms the parser reports.
"""

from __future__ import annotations

from jinef.model.address import USAGE_LABELS_FA, LocalityType, ThoroughfareType, Usage

T = ThoroughfareType

# Thoroughfare type words and their spoken/variant spellings.
THOROUGHFARE_WORDS: dict[str, str] = {
    "خیابان": T.STREET,
    "خیابون": T.STREET,
    "کوچه": T.ALLEY,
    "بن بست": T.DEAD_END,
    "بلوار": T.BOULEVARD,
    "میدان": T.SQUARE,
    "میدون": T.SQUARE,
    "می دان": T.SQUARE,
    "بزرگراه": T.HIGHWAY,
    "بزرگ راه": T.HIGHWAY,
    "اتوبان": T.HIGHWAY,
    "جاده": T.ROAD,
    "فلکه": T.ROUNDABOUT,
    "چهارراه": T.CROSSROADS,
    "چهار راه": T.CROSSROADS,
    "کوی": T.ESTATE,
    "شهرک": T.TOWNSHIP,
    "مجتمع": T.COMPLEX,
    "برج": T.TOWER,
}

# Size rank of each type, large (0) to small: used to put thoroughfares written small-to-large
# back into the certificate's large-to-small order.
THOROUGHFARE_RANK: dict[str, int] = {
    T.TOWNSHIP: 0,
    T.ESTATE: 1,
    T.HIGHWAY: 1,
    T.ROAD: 1,
    T.BOULEVARD: 2,
    T.SQUARE: 2,
    T.ROUNDABOUT: 2,
    T.CROSSROADS: 2,
    T.STREET: 3,
    T.ALLEY: 4,
    T.DEAD_END: 5,
    T.COMPLEX: 6,
    T.TOWER: 6,
}

# Words naming the small levels of an address → ParsedAddress field.
DETAIL_WORDS: dict[str, str] = {
    "پلاک": "plate",
    "شماره": "plate",
    "واحد": "unit",
    "طبقه": "floor",
    "بلوک": "entrance",
    "ورودی": "entrance",
    "ساختمان": "building",
    "زنگ": "unit",  # the doorbell number is the unit
    "کد پستی": "postcode",
    "کد پست": "postcode",
}

# Administrative words → (ParsedAddress field, locality type or "").
ADMIN_WORDS: dict[str, tuple[str, str]] = {
    "استان": ("province", ""),
    "شهرستان": ("county", ""),
    "بخش": ("district", ""),
    "دهستان": ("rural_district", ""),
    "شهر": ("locality", LocalityType.CITY),
    "روستا": ("locality", LocalityType.VILLAGE),
    "روستای": ("locality", LocalityType.VILLAGE),
    "آبادی": ("locality", LocalityType.HAMLET),
    "محله": ("neighbourhood", ""),
}

# Abbreviations written before what they qualify: «خ آزادی», «پ ۱۲», «ش نیکنام».
PREFIX_ABBREVIATIONS: dict[str, str] = {
    "خ": "خیابان",
    "ک": "کوچه",
    "پ": "پلاک",
    "ط": "طبقه",
    "ب": "بلوک",
    "م": "میدان",
    "بل": "بلوار",
    "ت": "تقاطع",
    "ج": "جاده",
    "س": "ساختمان",
    "ش": "شهید",
    "بن": "بن‌بست",
    "چ": "چهارراه",
    "فل": "فلکه",
    "بز": "بزرگراه",
}
# Abbreviations written after a name: directions («آزادی غ» = «آزادی غربی»).
SUFFIX_ABBREVIATIONS: dict[str, str] = {
    "غ": "غربی",
    "ش": "شرقی",
    "شر": "شرقی",
    "شم": "شمالی",
    "ج": "جنوبی",
    "جن": "جنوبی",
}
# What an abbreviation needs right after it to be one: a number, a word, or either.
ABBREVIATION_NEEDS: dict[str, str] = {
    "پ": "number",
    "ط": "floor",
    "ش": "word",
    "س": "word",
}
# Words that are part of a name, not a level («شهید» in «خیابان شهید نیکنام»).
NAME_WORDS: tuple[str, ...] = ("شهید",)

# Keyboard slips: the letter typed → the letter meant (neighbouring or same-shape keys).
KEYBOARD_SLIPS: dict[str, str] = {
    "ح": "خ",
    "گ": "ک",
    "ژ": "پ",
}
# Slip spellings that are real words and must stay as written («گوی»: ball).
NOT_SLIPS: tuple[str, ...] = ("گوی",)

# Landmark words → (canonical form, whether the thoroughfare after it is the address's own).
# «نبش کوچه X» and «انتهای کوچه X» put the address on X; «جنب بانک» or «نرسیده به میدان» do not.
LANDMARK_WORDS: dict[str, tuple[str, bool]] = {
    "جنب": ("جنب", False),
    "روبروی": ("روبروی", False),
    "روبرو": ("روبروی", False),
    "رو به روی": ("روبروی", False),
    "رو به رو": ("روبروی", False),
    "مقابل": ("مقابل", False),
    "نرسیده به": ("نرسیده به", False),
    "بعد از": ("بعد از", False),
    "قبل از": ("قبل از", False),
    "پایین تر از": ("پایین‌تر از", False),
    "بالاتر از": ("بالاتر از", False),
    "پشت": ("پشت", False),
    "کنار": ("کنار", False),
    "بغل": ("کنار", False),
    "نزدیک": ("نزدیک", False),
    "نزدیکی": ("نزدیک", False),
    "حد فاصل": ("حد فاصل", False),
    "بین": ("بین", False),
    "تقاطع": ("تقاطع", False),
    "ضلع": ("ضلع", False),
    "نبش": ("نبش", True),
    "انتهای": ("انتهای", True),
    "انتها": ("انتهای", True),
    "ته": ("انتهای", True),
    "ابتدای": ("ابتدای", True),
    "ابتدا": ("ابتدای", True),
    "داخل": ("داخل", True),
    "اول": ("ابتدای", True),
    "سر": ("ابتدای", True),
}
# Landmark words that are only landmark words right before a thoroughfare type
# («اول کوچه گلستان»); elsewhere they are ordinary words («کوچه اول» = alley 1).
LANDMARK_ONLY_BEFORE_TYPE: tuple[str, ...] = ("اول", "سر", "ته", "داخل")

# Words that carry no address information; recorded as ignored.
FILLER_WORDS: tuple[str, ...] = (
    "نشانی",
    "آدرس",
    "ایران",
    "کشور",
    "واقع در",
    "به نشانی",
)
# Words whose value is not an address level of the model («منطقه ۵» is a municipal zone).
# Phone and identity numbers people paste into address fields are not address levels either.
IGNORED_WITH_VALUE: tuple[str, ...] = (
    "منطقه",
    "ناحیه",
    "تلفن",
    "تلفن همراه",
    "تلفن ثابت",
    "شماره تماس",
    "شماره تلفن",
    "شماره همراه",
    "موبایل",
    "همراه",
    "تماس",
    "کد ملی",
    "شناسه ملی",
)
# A ten-digit number right after one of these is not a postcode («کد ملی ۰۰۱۲۳۴۵۶۷۸»).
NOT_POSTCODE_LABELS: tuple[str, ...] = (
    "کد ملی",
    "شناسه ملی",
    "تلفن",
    "موبایل",
    "همراه",
    "تماس",
)
# A run of this many digits or more, with no label, is a phone number, not a plate or a name.
PHONE_MIN_DIGITS = 7

# Letters written after a plate or unit number («پلاک ۱۲ الف», «واحد ۳ب»).
NUMBER_SUFFIX_LETTERS: tuple[str, ...] = ("الف", "ب", "ج", "د", "ه")
# The ezafe written apart after a level word («طبقه ی سوم», «کوچه ی گلستان»): skipped.
EZAFE: tuple[str, ...] = ("ی", "ای")
# Number + this word is a street named by its width («۱۶ متری»), type word or not.
WIDTH_WORDS: tuple[str, ...] = ("متری",)
# Honorifics written after a person's name, usually in parentheses: «امام خمینی (ره)». Not part
# of the name for matching.
HONORIFICS: tuple[str, ...] = ("ره", "رح", "ع", "عج", "ص", "س", "قس")
# Type words that also name areas: «محله کوی نصر», «محله شهرک غرب» name a neighbourhood.
AREA_TYPES: tuple[str, ...] = (T.ESTATE, T.TOWNSHIP, T.COMPLEX)
# Titles people drop from street names: «شهید نیکنام» is also written «نیکنام» (as match keys: no spaces).
DROPPABLE_TITLES: tuple[str, ...] = ("شهید", "سردار", "دکتر", "امام", "حضرت", "سرلشکر", "سپهبد", "مهندس", "استاد")
# Sides written after a unit or plate number: «واحد ۳ شمالی».
DIRECTION_WORDS: tuple[str, ...] = ("شمالی", "جنوبی", "شرقی", "غربی")

# Usages as address files write them → the stored English code: the code itself, the certificate's Persian
# label, and other names offices use. Matched with letters folded, spaces and ZWNJ dropped, case ignored.
USAGE_WORDS: dict[str, str] = {
    **{u.value: u.value for u in Usage},
    **{label: u.value for u, label in USAGE_LABELS_FA.items()},
    "کارگاه": Usage.WORKSHOP.value,
    "بهداشتی": Usage.HEALTH.value,
    "بهداشتی درمانی": Usage.HEALTH.value,
    "دولتی": Usage.ADMINISTRATIVE.value,
    "کشاورزی و دامداری": Usage.AGRICULTURAL.value,
}
# Locality types as address files write them → the stored Persian word (نوع مکان).
LOCALITY_TYPE_WORDS: dict[str, str] = {
    **{t.value: t.value for t in LocalityType},
    "city": LocalityType.CITY.value,
    "town": LocalityType.CITY.value,
    "village": LocalityType.VILLAGE.value,
    "hamlet": LocalityType.HAMLET.value,
    "ده": LocalityType.VILLAGE.value,
}
