"""Number words to digits: «دوازدهم» = «دوازده» = «۱۲» = 12, «بیست و سوم» = 23, «سی‌ام» = 30.

Every spelling from 1 to 999 (cardinal and ordinal, with the spelling variants of
:mod:`jinef.text.data.numbers`) is generated once at import into one dict keyed by the
*bare* form: no spaces and no ZWNJ, «و» glued. A phrase written over several tokens is
found by joining the tokens, so «بیست و سوم», «بیست‌وسوم» and «بیستوسوم» all hit one key.
"""

from __future__ import annotations

from itertools import product

from jinef.text.data import numbers as data

ZWNJ = "\u200c"
MAX_PHRASE_TOKENS = 7  # «نهصد و نود و نه ام»: six tokens, one spare
MAX_DIGITS = 9


def _by_value(table: dict[str, int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for word, value in table.items():
        out.setdefault(value, []).append(word)
    return out


def _ordinals(word: str) -> list[str]:
    """Ordinal spellings of a number whose last word is ``word``."""
    base = list(data.ORDINAL_EXCEPTIONS.get(word, (word + "م",)))
    forms = base + [b + "ین" for b in base] + [word + ending for ending in data.ORDINAL_ENDINGS]
    return [f for f in forms if f not in data.NOT_NUMBERS]


def _generate() -> dict[str, int]:
    units, teens = _by_value(data.UNITS), _by_value(data.TEENS)
    tens, hundreds = _by_value(data.TENS), _by_value(data.HUNDREDS)
    table: dict[str, int] = {}
    for n in range(1, 1000):
        h, r = divmod(n, 100)
        groups: list[list[str]] = []
        if h:
            groups.append(hundreds[h * 100])
        if 0 < r < 10:
            groups.append(units[r])
        elif 10 <= r < 20:
            groups.append(teens[r])
        elif r >= 20:
            groups.append(tens[r // 10 * 10])
            if r % 10:
                groups.append(units[r % 10])
        for words in product(*groups):
            table.setdefault(data.CONJUNCTION.join(words), n)
            head = data.CONJUNCTION.join(words[:-1]) + (data.CONJUNCTION if len(words) > 1 else "")
            for ordinal in _ordinals(words[-1]):
                table.setdefault(head + ordinal, n)
    for word in data.FIRST_WORDS:
        table[word] = 1
        table[word + "ین"] = 1
    table[data.THOUSAND] = 1000
    for ordinal in _ordinals(data.THOUSAND):
        table[ordinal] = 1000
    return table


NUMBER_WORDS: dict[str, int] = _generate()
# A token can open a number phrase when it is a whole number word or one of its parts.
_PARTS = {*data.UNITS, *data.TEENS, *data.TENS, *data.HUNDREDS, data.THOUSAND}
NUMBER_STARTS: frozenset[str] = frozenset(NUMBER_WORDS) | frozenset(_PARTS)
ORDINAL_ENDINGS: frozenset[str] = frozenset(data.ORDINAL_ENDINGS)


def bare(token: str) -> str:
    """A token without ZWNJ, the form every word table is keyed by."""
    return token.replace(ZWNJ, "") if ZWNJ in token else token


def number_word_value(text: str) -> int | None:
    """The value of a number written in words (any spacing), or None: «بیست و سوم» → 23."""
    return NUMBER_WORDS.get("".join(bare(text).split()))


def to_int(text: str) -> int | None:
    """Digits (any script) or number words to an int; None when it is neither."""
    from jinef.model.digits import to_latin_digits

    t = to_latin_digits(text).strip()
    if t.isascii() and t.isdigit():
        return int(t)
    return number_word_value(t)


def match_number(bares: list[str], i: int) -> tuple[int, int] | None:
    """The longest number phrase starting at ``bares[i]``: (value, end index), or None.

    ``bares`` are tokens already stripped of ZWNJ. A standalone ordinal ending after the
    phrase («سی ام», «۱۲ ام») is taken into it.
    """
    tok = bares[i]
    n = len(bares)
    if tok.isascii() and tok.isdigit():
        if len(tok) > MAX_DIGITS:
            return None  # not an address number (and int() of thousands of digits refuses)
        end = i + 1
        if end < n and bares[end] in ORDINAL_ENDINGS:
            end += 1
        return int(tok), end
    if tok not in NUMBER_STARTS:
        return None
    for j in range(min(n, i + MAX_PHRASE_TOKENS), i, -1):
        value = NUMBER_WORDS.get("".join(bares[i:j]))
        if value is not None:
            if j < n and bares[j] in ORDINAL_ENDINGS:
                j += 1
            return value, j
    return None


def convert_number_words(
    tokens: list[str], bares: list[str] | None = None
) -> tuple[list[str], list[tuple[str, str]]]:
    """Replace number phrases by ASCII digits; also return (original phrase, digits) per change.

    Tokens must already have ASCII digits; ``bares`` (the tokens without ZWNJ) may be passed
    when the caller has them. «کوچه دوازدهم» → [«کوچه», «12»].
    """
    if not tokens:
        return tokens, []
    if bares is None:
        bares = [bare(t) for t in tokens]
    if NUMBER_STARTS.isdisjoint(bares) and ORDINAL_ENDINGS.isdisjoint(bares):
        return tokens, []
    out: list[str] = []
    changes: list[tuple[str, str]] = []
    i, n = 0, len(tokens)
    while i < n:
        m = match_number(bares, i)
        if m is None:
            out.append(tokens[i])
            i += 1
            continue
        value, end = m
        digits = str(value)
        original = " ".join(tokens[i:end])
        if original != digits:
            changes.append((original, digits))
        out.append(digits)
        i = end
    return out, changes
