"""Tag a free-text Persian address with the levels of the national address model.

:func:`parse_address` normalises the text (:mod:`jinef.text.normalize`), takes out a postcode,
splits the rest into parts at separators («،», «-», ...) and reads each part left to right:
a level word (خیابان, پلاک, طبقه, استان, ...) takes the words after it up to the next level
word; landmark words (جنب, روبروی, ...) take the rest of their part; words before any level
word are a *place* for the geocoder's gazetteer («تهران»). Every fix it makes (abbreviation,
keyboard slip, number word, letter fold, reordering) is recorded, and so is every word it
could not use, so the geocoder can explain its answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import NamedTuple

from jinef.model.postcode import validate as validate_postcode
from jinef.text import lexicon as lx
from jinef.text.data.punctuation import SEPARATOR
from jinef.text.letters import ARABIC_TO_PERSIAN
from jinef.text.normalize import (
    fold_arabic_letters,
    normalize,
    remove_control_chars,
    strip_diacritics,
)
from jinef.text.numbers import NUMBER_STARTS, convert_number_words, match_number
from jinef.text.typos import ordinal_meant, type_word_meant

# Addresses are never this long; beyond it is junk, and parsing stays linear and bounded.
MAX_INPUT_CHARS = 2000

# Correction kinds (stable: part of the JSON output).
ABBREVIATION = "abbreviation"
KEYBOARD_SLIP = "keyboard_slip"
NUMBER_WORD = "number_word"
LETTER_FOLD = "letter_fold"
REORDERED = "reordered"
INFERRED = "inferred"  # a level read from position alone, with no word naming it
TYPO = "typo"  # a level word or an ordinal one letter off («خیابن», «چهاررم»)

# On normalised text: ASCII digits, a dash already a separator «، », other gaps a space.
_POSTCODE = re.compile(f"([0-9]{{5}})(?:{SEPARATOR} | )?([0-9]{{5}})")
_SUSPECT = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
    + "".join(ARABIC_TO_PERSIAN)
    + "]"
)
_GLUE = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_DIGIT_RUN = re.compile("[0-9]+")
_ARABIC_CHAR = re.compile("[" + "".join(ARABIC_TO_PERSIAN) + "]")
_WORD_BREAK = re.compile(r"[\s،,؛;.:/()«»\-]+")
_PLATE_NUMBER = re.compile(r"\d+(?:/\d+)*")
_MINUS_NUMBER = re.compile(r"-\d+")


class Thoroughfare(NamedTuple):
    """One thoroughfare of an address: its type word (may be empty) and its name."""

    type_word: str
    name: str

    @property
    def text(self) -> str:
        """As the model stores it: «خیابان آزادی»."""
        return f"{self.type_word} {self.name}" if self.type_word else self.name


@dataclass(frozen=True, slots=True)
class Correction:
    """One change the parser made to what was written."""

    kind: str
    original: str
    result: str

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"kind": self.kind, "original": self.original, "result": self.result}


@dataclass(slots=True)
class ParsedAddress:
    """An address string tagged with the model's levels; absent levels are None or empty."""

    province: str | None = None
    county: str | None = None
    district: str | None = None
    rural_district: str | None = None
    locality_type: str | None = None
    locality: str | None = None
    neighbourhood: str | None = None
    thoroughfares: list[Thoroughfare] = field(default_factory=list)  # large to small
    plate: str | None = None
    entrance: str | None = None
    building: str | None = None
    floor: int | None = None
    unit: str | None = None
    postcode: str | None = None
    landmarks: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)  # untyped parts, for the gazetteer
    corrections: list[Correction] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    normalized: str = ""

    @property
    def last_thoroughfare(self) -> Thoroughfare | None:
        """The model's معبر آخر: the smallest thoroughfare."""
        return self.thoroughfares[-1] if self.thoroughfares else None

    @property
    def prev_thoroughfare(self) -> Thoroughfare | None:
        """The model's معبر ماقبل آخر: the one before the last."""
        return self.thoroughfares[-2] if len(self.thoroughfares) > 1 else None

    @property
    def is_empty(self) -> bool:
        """True when nothing usable was found."""
        return not (
            self.thoroughfares
            or self.places
            or self.postcode
            or self.plate
            or self.locality
            or self.province
            or self.county
            or self.neighbourhood
            or self.landmarks
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (thoroughfares as {type, name}; last/prev as the model's text)."""
        last, prev = self.last_thoroughfare, self.prev_thoroughfare
        return {
            "province": self.province,
            "county": self.county,
            "district": self.district,
            "rural_district": self.rural_district,
            "locality_type": self.locality_type,
            "locality": self.locality,
            "neighbourhood": self.neighbourhood,
            "thoroughfares": [{"type": t.type_word, "name": t.name} for t in self.thoroughfares],
            "prev_thoroughfare": prev.text if prev else None,
            "last_thoroughfare": last.text if last else None,
            "plate": self.plate,
            "entrance": self.entrance,
            "building": self.building,
            "floor": self.floor,
            "unit": self.unit,
            "postcode": self.postcode,
            "landmarks": list(self.landmarks),
            "places": list(self.places),
            "corrections": [c.to_dict() for c in self.corrections],
            "ignored": list(self.ignored),
            "normalized": self.normalized,
        }


def parse_address(text: str) -> ParsedAddress:
    """Tag an address string with the model's levels. Never raises on any ``str``."""
    out = ParsedAddress()
    if not text or not isinstance(text, str):
        return out
    if len(text) > MAX_INPUT_CHARS:
        out.ignored.append(f"<{len(text) - MAX_INPUT_CHARS} characters beyond {MAX_INPUT_CHARS} not read>")
        text = text[:MAX_INPUT_CHARS]
    if _SUSPECT.search(text) is not None:  # one scan for the two rare cases
        text = remove_control_chars(text)
        _record_letter_folds(text, out)
    text = out.normalized = normalize(text)
    if not text:
        return out
    if len(text) >= 10:
        text = _take_postcodes(text, out)
    for chunk in text.split(SEPARATOR):
        if chunk and not chunk.isspace():
            _merge(out, _parse_chunk(chunk.strip()))
    _order_thoroughfares(out)
    _infer_plate(out)
    return out


@dataclass(slots=True)
class _Part:
    """What one part of an address says, before it meets the other parts."""

    parsed: ParsedAddress
    sources: dict[str, str] = field(default_factory=dict)  # each level set → the words it was read from
    postcode_label: str = ""


# Parts repeat across a batch («تهران», «طبقه ۳», «خیابان آزادی»): reading each once pays.
@lru_cache(maxsize=1 << 14)
def _parse_chunk(chunk: str) -> _Part:
    """Read one part (between separators). Cached: the result must not be changed by callers."""
    tokens = chunk.split()
    if not all(t.isalpha() or t.isdigit() for t in tokens) and _is_glued(chunk):
        chunk = _GLUE.sub(" ", chunk)  # «پ۱۲» → «پ 12»
        tokens = chunk.split()
    # Lookup keys: no ZWNJ, «آ» as «ا»; they split exactly as the text does.
    keys = chunk.replace(lx.ZWNJ, "").replace("آ", "ا").split()
    part = _Part(ParsedAddress())
    fixes = _fix_typos(tokens, keys)
    _Chunk(tokens, keys, part).parse()
    if fixes:
        part.parsed.corrections[:0] = fixes
    return part


def _fix_typos(tokens: list[str], keys: list[str]) -> list[Correction]:
    """Mend, in place, a type word one letter off where a part starts with one («خیابن شهید بهشتی»), and an
    ordinal one letter off where it is a thoroughfare's one-word name («کوچه چهاررم»). Only there: elsewhere such
    a word is more likely a name («شهید خیابانی»)."""
    fixes: list[Correction] = []
    n = len(keys)
    if n >= 2 and keys[0] not in _MAYBE_KEYWORD:
        meant = type_word_meant(keys[0])
        if meant is not None:
            fixes.append(Correction(TYPO, tokens[0], meant))
            tokens[0], keys[0] = meant, lx.lookup_form(meant)
    for i in range(1, n):
        prev = lx.WORDS.get(keys[i - 1])
        if prev is None or prev.kind != lx.TYPE or keys[i] in _MAYBE_KEYWORD or keys[i] in NUMBER_STARTS:
            continue
        if i + 1 < n and keys[i + 1] not in _MAYBE_KEYWORD:
            continue  # a name of several words, not a number
        meant = ordinal_meant(keys[i])
        if meant is not None:
            fixes.append(Correction(TYPO, tokens[i], meant))
            tokens[i], keys[i] = meant, lx.lookup_form(meant)
    return fixes


_ADMIN_FIELDS = frozenset({"province", "county", "district", "rural_district", "locality", "neighbourhood"})
def _merge(out: ParsedAddress, part: _Part) -> None:
    """Add one part's reading to the address; a level already given keeps its first value."""
    p = part.parsed
    # Most parts carry one level and empty lists: testing a list is cheaper than extending by nothing.
    if p.corrections:
        out.corrections.extend(p.corrections)
    if p.thoroughfares:
        out.thoroughfares.extend(p.thoroughfares)
    if p.landmarks:
        out.landmarks.extend(p.landmarks)
    if p.places:
        out.places.extend(p.places)
    if p.ignored:
        out.ignored.extend(p.ignored)
    for name, source in part.sources.items():  # exactly the levels this part set
        value = getattr(p, name)
        if getattr(out, name) is None:
            setattr(out, name, value)
            if name == "locality":
                out.locality_type = p.locality_type
        elif name in _ADMIN_FIELDS:
            out.places.append(str(value))
        else:
            out.ignored.append(source)
    if part.postcode_label and out.postcode is None:
        out.ignored.append(part.postcode_label)


def _is_glued(text: str) -> bool:
    """Is a letter written against a digit anywhere («پ۱۲», «۱۲ام»)? Digits are few: look around each run."""
    n = len(text)
    for m in _DIGIT_RUN.finditer(text):
        start, end = m.span()
        if (start and text[start - 1].isalpha()) or (end < n and text[end].isalpha()):
            return True
    return False


def _record_letter_folds(text: str, out: ParsedAddress) -> None:
    if _ARABIC_CHAR.search(text) is None:
        return
    for word in _WORD_BREAK.split(text):
        if _ARABIC_CHAR.search(word) is not None:
            out.corrections.append(Correction(LETTER_FOLD, word, strip_diacritics(fold_arabic_letters(word))))


def _take_postcodes(text: str, out: ParsedAddress) -> str:
    """Take 10-digit numbers (a dash or space inside or not) out of normalised text; keep the first valid."""
    if _POSTCODE.search(text) is None:  # the common case, one scan
        return text
    pieces: list[str] = []
    last = 0
    for m in _POSTCODE.finditer(text):
        start, end = m.span()
        if (start and text[start - 1].isdigit()) or (end < len(text) and text[end].isdigit()):
            continue  # part of a longer number (a phone number, say)
        if lx.lookup_form(text[max(0, start - 24) : start]).endswith(lx.NOT_POSTCODE_LABELS):
            continue  # «کد ملی ۰۰۱۲۳۴۵۶۷۸»: the label's own value
        code = m.group(1) + m.group(2)
        v = validate_postcode(code)
        if v.valid and out.postcode is None:
            out.postcode = v.postcode
        elif v.valid:
            out.ignored.append(f"{code} (a second postcode)")
        else:
            out.ignored.append(f"{code} (not a valid postcode: {', '.join(v.reasons)})")
        pieces.append(text[last:start])
        pieces.append(SEPARATOR)
        last = end
    if not pieces:
        return text
    pieces.append(text[last:])
    return "".join(pieces)


def _infer_plate(out: ParsedAddress) -> None:
    """A bare number written as its own part after a thoroughfare is its plate: «کوچه ۵، ۱۲»."""
    if out.plate is not None or not out.thoroughfares:
        return
    for i in range(len(out.places) - 1, -1, -1):
        if _PLATE_NUMBER.fullmatch(out.places[i]):
            out.plate = out.places.pop(i)
            out.corrections.append(Correction(INFERRED, out.plate, f"پلاک {out.plate}"))
            return


def _order_thoroughfares(out: ParsedAddress) -> None:
    """Put thoroughfares large to small: written small to large is reversed, mixed is sorted by size."""
    ths = out.thoroughfares
    if len(ths) < 2:
        return
    street = lx.THOROUGHFARE_RANK["خیابان"]
    ranks = [lx.THOROUGHFARE_RANK.get(t.type_word, street) for t in ths]
    if all(a <= b for a, b in pairwise(ranks)):
        return
    if all(a >= b for a, b in pairwise(ranks)):
        new = ths[::-1]
    else:
        new = [t for _, _, t in sorted(zip(ranks, range(len(ths)), ths, strict=True))]
    out.corrections.append(
        Correction(REORDERED, " › ".join(t.text for t in ths), " › ".join(t.text for t in new))
    )
    out.thoroughfares = new


_MAYBE_KEYWORD = frozenset(
    [*lx.WORDS, *lx.MULTI_TOKEN_FIRSTS, *lx.PREFIX_ABBREVIATIONS, *lx.KEYBOARD_SLIPS]
)
# Tokens name_text may expand: «ش» before a name, a direction letter after one.
_NAME_ABBREVIATIONS = frozenset(
    [k for k, v in lx.PREFIX_ABBREVIATIONS.items() if v in lx.NAME_WORDS] + list(lx.SUFFIX_ABBREVIATIONS)
)
# Thoroughfare type words that also begin building names («مجتمع بیستون», «برج میلاد»).
_BUILDING_NAME_TYPES = frozenset({"مجتمع", "برج"})
_STOP_NAME = frozenset({lx.TYPE, lx.DETAIL, lx.ADMIN, lx.LANDMARK, lx.FLOOR_WORD, lx.IGNORED_WITH_VALUE})
_STOP_NAME_AT_START = frozenset({lx.TYPE, lx.DETAIL, lx.ADMIN, lx.FLOOR_WORD})
# A landmark («جنب بانک ملی») runs to the end of its part, or up to one of these.
_STOP_LANDMARK_KINDS = frozenset({lx.TYPE, lx.LANDMARK, lx.FLOOR_WORD})
_STOP_LANDMARK_FIELDS = frozenset({"plate", "unit", "floor", "postcode"})


class _Chunk:
    """One part of an address (between separators), read left to right."""

    __slots__ = ("keys", "memo", "n", "out", "part", "tokens")

    def __init__(self, tokens: list[str], keys: list[str], part: _Part) -> None:
        self.tokens = tokens
        self.keys = keys  # lookup forms, one per token
        self.n = len(tokens)
        self.part = part
        self.out = part.parsed
        self.memo: dict[int, tuple[lx.Entry, int, list[Correction]] | None] = {}

    # -- looking words up ----------------------------------------------------------------

    def _lookup(self, i: int) -> tuple[lx.Entry, int] | None:
        """The table entry of the phrase starting at ``i`` (longest first) and where it ends."""
        keys = self.keys
        longest = lx.MULTI_TOKEN_FIRSTS.get(keys[i])
        if longest:
            for k in range(min(longest, self.n - i), 1, -1):
                e = lx.WORDS.get("".join(keys[i : i + k]))
                if e is not None:
                    return e, i + k
        e = lx.WORDS.get(keys[i])
        return (e, i + 1) if e is not None else None

    def _is_number(self, i: int) -> bool:
        k = self.keys[i]
        if _PLATE_NUMBER.fullmatch(k):
            return True
        return k in NUMBER_STARTS and match_number(self.keys, i) is not None

    def _fits(self, need: str, i: int) -> bool:
        """Does the token at ``i`` fit what an abbreviation needs after it?"""
        if i >= self.n:
            return False
        hit = self._lookup(i)
        # «ک اول»: «اول» is a landmark word («اول خیابان ...») but here the alley's number.
        if hit is not None and need != "floor" and not (hit[0].kind == lx.LANDMARK and self._is_number(i)):
            return False
        if need == "number":
            return self._is_number(i)
        if need == "word":
            return not self._is_number(i)
        if need == "floor":
            k = self.keys[i]
            hit = self._lookup(i)
            return (
                self._is_number(i)
                or k in lx.NEGATIVE_WORDS
                or bool(_MINUS_NUMBER.fullmatch(k))
                or (hit is not None and hit[0].kind == lx.FLOOR_WORD)
            )
        return True

    def keyword(self, i: int) -> tuple[lx.Entry, int, list[Correction]] | None:
        """The level/landmark/filler word at ``i`` (abbreviations and slips resolved), or None."""
        if self.keys[i] not in _MAYBE_KEYWORD:
            return None  # most words of a name: one set lookup
        if i in self.memo:
            return self.memo[i]
        found = self._keyword(i)
        self.memo[i] = found
        return found

    def _keyword(self, i: int) -> tuple[lx.Entry, int, list[Correction]] | None:
        hit = self._lookup(i)
        if hit is not None:
            e, end = hit
            if e.kind == lx.LANDMARK and self.keys[i] in lx.LANDMARK_ONLY_BEFORE_TYPE:
                if not self._is_type_at(end):
                    return None
            fixes = [Correction(KEYBOARD_SLIP, self.tokens[i], e.canonical)] if e.slip else []
            return e, end, fixes
        return self._abbreviation(i)

    def _is_type_at(self, i: int) -> bool:
        """Is there a thoroughfare type word (or its abbreviation) at ``i``? Never recurses."""
        if i >= self.n:
            return False
        hit = self._lookup(i) or self._abbreviation(i)
        return hit is not None and hit[0].kind == lx.TYPE

    def _abbreviation(self, i: int) -> tuple[lx.Entry, int, list[Correction]] | None:
        tok = self.keys[i]
        fixes: list[Correction] = []
        meant = tok
        if tok not in lx.PREFIX_ABBREVIATIONS:
            meant = lx.KEYBOARD_SLIPS.get(tok, "")
            if meant not in lx.PREFIX_ABBREVIATIONS:
                return None
            fixes.append(Correction(KEYBOARD_SLIP, tok, meant))
        full = lx.PREFIX_ABBREVIATIONS[meant]
        e = lx.WORDS.get(lx.lookup_form(full))
        if e is None or not self._fits(lx.ABBREVIATION_NEEDS.get(meant, ""), i + 1):
            return None
        fixes.append(Correction(ABBREVIATION, meant, full))
        return e, i + 1, fixes

    # -- taking values -------------------------------------------------------------------

    def _skip_ezafe(self, j: int) -> int:
        return j + 1 if j + 1 < self.n and self.keys[j] in lx.EZAFE else j

    def take_name(self, j: int) -> tuple[int, int]:
        """The span of a name starting at ``j``: up to the next level or landmark word."""
        start = k = self._skip_ezafe(j)
        while k < self.n:
            kw = self.keyword(k)
            if kw is not None and kw[0].kind in (_STOP_NAME if k > start else _STOP_NAME_AT_START):
                if kw[0].kind == lx.ADMIN and k > start and self._ends_name(kw[1]):
                    # «شهر خمینی شهر»: a level word with no name after it closes this name, not a new level.
                    k = kw[1]
                    continue
                break
            k += 1
        return start, k

    def _ends_name(self, j: int) -> bool:
        """Nothing that could be a name follows ``j`` in this part."""
        if j >= self.n:
            return True
        kw = self.keyword(j)
        return kw is not None and kw[0].kind in _STOP_NAME_AT_START

    def name_text(self, start: int, end: int) -> str:
        """The display form of a name: «ش» → «شهید», a final «غ» → «غربی», number words → digits."""
        if end - start > 1 and self.keys[end - 1] in lx.HONORIFICS:
            end -= 1  # «امام خمینی ره»: the honorific is not part of the name
            self.out.ignored.append(self.tokens[end])
        tokens = self.tokens[start:end]
        if not tokens:
            return ""
        keys = self.keys[start:end]
        out = self.out
        for idx, key in enumerate(() if _NAME_ABBREVIATIONS.isdisjoint(keys) else keys):
            full = lx.PREFIX_ABBREVIATIONS.get(key)
            if full in lx.NAME_WORDS and idx + 1 < len(keys) and not _PLATE_NUMBER.fullmatch(keys[idx + 1]):
                tokens[idx] = full
                out.corrections.append(Correction(ABBREVIATION, key, full))
            elif idx and idx + 1 == len(keys) and key in lx.SUFFIX_ABBREVIATIONS:
                tokens[idx] = lx.SUFFIX_ABBREVIATIONS[key]
                out.corrections.append(Correction(ABBREVIATION, key, tokens[idx]))
        tokens, changes = convert_number_words(tokens, keys)
        for original, digits in changes:
            out.corrections.append(Correction(NUMBER_WORD, original, digits))
        return " ".join(tokens)

    def take_value(self, j: int) -> tuple[str | None, int]:
        """A plate/unit/entrance value: a number (with a letter after it) or one word."""
        j = self._skip_ezafe(j)
        if j >= self.n:
            return None, j
        keys = self.keys
        if _PLATE_NUMBER.fullmatch(keys[j]):
            value, end = keys[j], j + 1
        else:
            m = match_number(keys, j) if keys[j] in NUMBER_STARTS else None
            if m is not None:
                value, end = str(m[0]), m[1]
                self.out.corrections.append(Correction(NUMBER_WORD, " ".join(self.tokens[j:end]), value))
            elif self.keyword(j) is None:
                return self.tokens[j], j + 1
            else:
                return None, j
        if (
            end < self.n
            and keys[end] in lx.NUMBER_SUFFIX_LETTERS
            and not (end + 1 < self.n and self._is_number(end + 1))
        ):
            value, end = f"{value} {self.tokens[end]}", end + 1
        if end < self.n and keys[end] in lx.DIRECTION_WORDS:
            value, end = f"{value} {self.tokens[end]}", end + 1  # «واحد ۳ شمالی»
        return value, end

    def take_floor(self, j: int) -> tuple[int | None, int]:
        """A floor: a number, «همکف» (0), «زیرزمین [دوم]» (−1, −2), «منفی یک» / «-۱» (−1)."""
        j = self._skip_ezafe(j)
        if j >= self.n:
            return None, j
        keys = self.keys
        sign = 1
        if keys[j] in lx.NEGATIVE_WORDS:
            sign, j = -1, j + 1
            if j >= self.n:
                return None, j
        if _MINUS_NUMBER.fullmatch(keys[j]):
            return -int(keys[j][1:]), j + 1
        hit = self._lookup(j)
        if hit is not None and hit[0].kind == lx.FLOOR_WORD:
            return self._floor_word(hit[0], hit[1])
        if keys[j] in NUMBER_STARTS or keys[j].isdigit():
            m = match_number(keys, j)
            if m is not None:
                if not keys[j].isdigit():
                    self.out.corrections.append(
                        Correction(NUMBER_WORD, " ".join(self.tokens[j : m[1]]), str(m[0]))
                    )
                return sign * m[0], m[1]
        return None, j

    def _floor_word(self, e: lx.Entry, end: int) -> tuple[int, int]:
        if e.canonical in lx.BASEMENT_FLOOR_WORDS and end < self.n:
            m = match_number(self.keys, end)
            if m is not None:
                return -m[0], m[1]
        return e.value, end

    # -- the part as a whole -------------------------------------------------------------

    def parse(self) -> None:
        """Read the part left to right, filling ``out``."""
        out = self.out
        i = 0
        loose_start = -1  # start of words not yet claimed by a level word
        while i < self.n:
            kw = self.keyword(i)
            if kw is None and len(self.keys[i]) >= lx.PHONE_MIN_DIGITS and self.keys[i].isdigit():
                if loose_start >= 0:
                    self._loose(loose_start, i)
                    loose_start = -1
                out.ignored.append(f"{self.tokens[i]} (a phone number?)")
                i += 1
                continue
            if kw is None:
                if loose_start < 0:
                    loose_start = i
                i += 1
                continue
            e, j, fixes = kw
            if e.kind == lx.ADMIN:
                start, end = self.take_name(j)
                area = self._area_after(e, j) if start == end else None
                if area is not None:  # «محله شهرک فرهنگیان»: the neighbourhood is named with a type word
                    if loose_start >= 0:
                        self._loose(loose_start, i)
                        loose_start = -1
                    i = self._set_admin(e, *area)
                    continue
                if start == end:  # «اسلام شهر»: the word is part of a name, not a level
                    if loose_start < 0:
                        loose_start = i
                    i = j
                    continue
            if loose_start >= 0:
                self._loose(loose_start, i)
                loose_start = -1
            out.corrections.extend(fixes)
            i = self._dispatch(e, i, j)
        if loose_start >= 0:
            self._loose(loose_start, self.n)

    def _dispatch(self, e: lx.Entry, i: int, j: int) -> int:
        """Handle the level word ``e`` found at ``i`` (ending at ``j``); return where to go on."""
        out = self.out
        kind = e.kind
        if kind == lx.TYPE:
            return self._thoroughfare(e, i, j)[1]
        if kind == lx.DETAIL:
            return self._detail(e, i, j)
        if kind == lx.ADMIN:
            start, end = self.take_name(j)
            return self._set_admin(e, self.name_text(start, end), end)
        if kind == lx.LANDMARK:
            return self._landmark(e, i, j)
        if kind == lx.FLOOR_WORD:
            value, end = self._floor_word(e, j)
            self._set_floor(value, i, end)
            return end
        if kind == lx.IGNORED_WITH_VALUE:
            zone, end = self.take_value(j)
            out.ignored.append(f"{e.canonical} {zone}" if zone else self.tokens[i])
            return end
        out.ignored.append(" ".join(self.tokens[i:j]))  # FILLER
        return j

    def _set_admin(self, e: lx.Entry, name: str, end: int) -> int:
        """Record an administrative level's name (a level given twice keeps the first); return ``end``."""
        out = self.out
        if getattr(out, e.field) is None:
            setattr(out, e.field, name)
            self.part.sources[e.field] = name
            if e.locality_type:
                out.locality_type = e.locality_type
        else:
            out.places.append(name)
        return end

    def _area_after(self, e: lx.Entry, j: int) -> tuple[str, int] | None:
        """After «محله», a type word and its name are the neighbourhood's name as written: «محله شهرک غرب»,
        «محله اتوبان تهران کرج» (the geocoder reads it as a street when no neighbourhood has that name)."""
        if e.field != "neighbourhood" or j >= self.n:
            return None
        kw = self.keyword(j)
        if kw is None or kw[0].kind != lx.TYPE:
            return None
        start, end = self.take_name(kw[1])
        if start == end:
            return None
        word = kw[0].canonical if kw[0].canonical in lx.AREA_TYPES else " ".join(self.tokens[j:kw[1]])
        return f"{word} {self.name_text(start, end)}", end

    def _thoroughfare(self, e: lx.Entry, i: int, j: int) -> tuple[Thoroughfare | None, int]:
        start, end = self.take_name(j)
        if start == end:
            self.out.ignored.append(" ".join(self.tokens[i:j]))
            return None, end
        th = Thoroughfare(e.canonical, self.name_text(start, end))
        self.out.thoroughfares.append(th)
        return th, end

    def _detail(self, e: lx.Entry, i: int, j: int) -> int:
        out = self.out
        f = e.field
        if f == "postcode":
            self.part.postcode_label = self.part.postcode_label or e.canonical  # merge decides
            return j
        if f == "building":
            start, end = self.take_name(j)
            kw = self.keyword(j) if start == end and j < self.n else None
            if kw is not None and kw[0].kind == lx.TYPE and kw[0].canonical in _BUILDING_NAME_TYPES:
                # «ساختمان مجتمع بیستون»: after «ساختمان» the word names the building, not a thoroughfare.
                start, end = j, self.take_name(kw[1])[1]
            if start == end:
                out.ignored.append(" ".join(self.tokens[i:j]))
            elif out.building is None:
                out.building = self.name_text(start, end)
                self.part.sources[f] = " ".join(self.tokens[i:end])
            else:
                out.ignored.append(" ".join(self.tokens[i:end]))
            return end
        if f == "floor":
            floor, end = self.take_floor(j)
            if floor is None:
                out.ignored.append(" ".join(self.tokens[i:j]))
                return j
            self._set_floor(floor, i, end)
            return end
        value, end = self.take_value(j)
        if value is None:
            out.ignored.append(" ".join(self.tokens[i:j]))
        elif getattr(out, f) is None:
            setattr(out, f, value)
            self.part.sources[f] = " ".join(self.tokens[i:end])
        else:
            out.ignored.append(" ".join(self.tokens[i:end]))
        return end

    def _set_floor(self, floor: int, i: int, end: int) -> None:
        if not lx.LOWEST_FLOOR <= floor <= lx.HIGHEST_FLOOR:
            self.out.ignored.append(" ".join(self.tokens[i:end]))
        elif self.out.floor is None:
            self.out.floor = floor
            self.part.sources["floor"] = " ".join(self.tokens[i:end])
        else:
            self.out.ignored.append(" ".join(self.tokens[i:end]))

    def _landmark(self, e: lx.Entry, i: int, j: int) -> int:
        out = self.out
        if e.names_thoroughfare and j < self.n:
            nxt = self.keyword(j)
            if nxt is not None and nxt[0].kind == lx.TYPE:
                out.corrections.extend(nxt[2])
                th, end = self._thoroughfare(nxt[0], j, nxt[1])
                if th is not None:
                    out.landmarks.append(f"{e.canonical} {th.text}")
                return end
        first = self.keyword(j) if j < self.n else None
        if first is not None and first[0].kind == lx.TYPE:
            # The landmark is a thoroughfare («نرسیده به میدان انقلاب»): it ends with its name.
            out.corrections.extend(first[2])
            start, end = self.take_name(first[1])
            out.landmarks.append(f"{e.canonical} {first[0].canonical} {self.name_text(start, end)}".rstrip())
            return end
        k = j
        while k < self.n:
            kw = self.keyword(k)
            if kw is not None and (
                kw[0].kind in _STOP_LANDMARK_KINDS
                or (kw[0].kind == lx.DETAIL and kw[0].field in _STOP_LANDMARK_FIELDS)
            ):
                break
            k += 1
        if k == j:
            out.ignored.append(" ".join(self.tokens[i:j]))
        else:
            out.landmarks.append(f"{e.canonical} {self.name_text(j, k)}")
        return k

    def _loose(self, start: int, end: int) -> None:
        """Words no level word claimed: a street named by its width, or a place for the gazetteer."""
        keys = self.keys
        while start < end and keys[start] in lx.EZAFE:
            start += 1
        if start >= end:
            return
        if end - start == 1 and keys[start] in lx.HONORIFICS:
            self.out.ignored.append(self.tokens[start])  # «(ره)» after a name
            return
        text = self.name_text(start, end)
        parts = text.split(" ", 2)
        if len(parts) > 1 and parts[0].isdigit() and lx.lookup_form(parts[1]) in lx.WIDTH_WORDS:
            self.out.thoroughfares.append(Thoroughfare("", text))
        else:
            self.out.places.append(text)


def split_thoroughfare(text: str) -> Thoroughfare:
    """Split a stored thoroughfare («خیابان شهید نیکنام», «ک ۱۲») into its type word and name.

    For indexing the registry the same way queries are parsed; no type word gives type "".
    """
    text = normalize(text)
    if _is_glued(text):
        text = _GLUE.sub(" ", text)
    tokens = text.replace(SEPARATOR, " ").split()
    if not tokens:
        return Thoroughfare("", "")
    keys = text.replace(SEPARATOR, " ").replace(lx.ZWNJ, "").replace("آ", "ا").split()
    chunk = _Chunk(tokens, keys, _Part(ParsedAddress()))
    kw = chunk.keyword(0)
    if kw is not None and kw[0].kind == lx.TYPE and kw[1] < chunk.n:
        return Thoroughfare(kw[0].canonical, chunk.name_text(kw[1], chunk.n))
    return Thoroughfare("", chunk.name_text(0, chunk.n))
