"""Normalisation steps (each a pure ``str -> str``) and the pipeline that chains them.

A pipeline is a list of dotted paths, as Addok's PROCESSORS: configuration can name a step
from any module, and each step can be tested alone. :data:`DEFAULT_STEPS` is what the parser
uses; run one with :func:`run_pipeline`.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache

from jinef.model.digits import ARABIC_DIGITS, PERSIAN_DIGITS, to_latin_digits
from jinef.text.data.punctuation import SEPARATOR, STRONG_SEPARATORS, WEAK_SEPARATORS
from jinef.text.letters import ARABIC_TO_PERSIAN, DIACRITICS, TATWEEL, ZWNJ, ZWNJ_LOOKALIKES

Step = Callable[[str], str]

DEFAULT_STEPS: tuple[str, ...] = (
    "jinef.text.normalize.remove_control_chars",
    "jinef.text.normalize.nfc",
    "jinef.text.normalize.fold_presentation_forms",
    "jinef.text.normalize.fold_arabic_letters",
    "jinef.text.normalize.strip_diacritics",
    "jinef.text.normalize.unify_zwnj",
    "jinef.text.normalize.unify_digits",
    "jinef.text.normalize.unify_punctuation",
    "jinef.text.normalize.collapse_whitespace",
)

# Speed: these steps run on every address and registry row. str.translate with a dict does a
# failing lookup per letter and is slow on Persian text, so each step first searches for a
# character it would change (one C-level scan) and then replaces only those.

# C0/C1 controls (tab and newline are separators, kept), lone surrogates, noncharacters.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]+")
# Arabic presentation forms (text copied from PDFs): NFKC gives the plain letters.
_PRESENTATION = re.compile(r"[\ufb50-\ufdff\ufe70-\ufeff]+")
_ARABIC = re.compile("[" + "".join(ARABIC_TO_PERSIAN) + "]")
_ARABIC_PAIRS = tuple(ARABIC_TO_PERSIAN.items())
_DIACRITICS = re.compile("[" + DIACRITICS + TATWEEL + "\u0653]+")
_ZWNJ_LIKE = re.compile("[" + "".join(ZWNJ_LOOKALIKES[1:]) + "]")
_ZWNJ_RUN = re.compile(f"{ZWNJ}{{2,}}")
# A ZWNJ only means something between two letters; next to spaces, digits or another ZWNJ it is noise.
_ZWNJ_NOT_BETWEEN_LETTERS = re.compile(rf"(?<![^\W\d_]){ZWNJ}|{ZWNJ}(?![^\W\d_])")
# A slash or dash between digits is part of a number («پلاک ۱۲/۳»); a dash before digits a minus.
_KEEP_IN_NUMBER = re.compile(r"(?<=\d)/(?=\d)|(?<![\w])-(?=\d)")
_STRONG = re.compile("[" + re.escape(STRONG_SEPARATORS) + "]")
_WEAK = re.compile("[" + re.escape(WEAK_SEPARATORS) + "]")
_PLACEHOLDERS = {"/": "\ue000", "-": "\ue001"}


def remove_control_chars(text: str) -> str:
    """Control characters, lone surrogates and noncharacters become spaces."""
    return _CONTROL.sub(" ", text)


def nfc(text: str) -> str:
    """Unicode NFC (composes «ي» + hamza above and the like)."""
    return unicodedata.normalize("NFC", text)


def fold_presentation_forms(text: str) -> str:
    """Arabic presentation forms (ﻻ, ﮐ, ...) to plain letters."""
    if _PRESENTATION.search(text) is None:
        return text
    return _PRESENTATION.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text)


def fold_arabic_letters(text: str) -> str:
    """Arabic letter forms to Persian: ي ى ئ → ی, ك → ک, ة ۀ → ه, أ إ → ا, ؤ → و."""
    if _ARABIC.search(text) is None:
        return text
    for arabic, persian in _ARABIC_PAIRS:
        if arabic in text:
            text = text.replace(arabic, persian)
    return text


def strip_diacritics(text: str) -> str:
    """Harakat, tanwin, shadda, sukun, hamza/madda marks and tatweel removed."""
    return _DIACRITICS.sub("", text)


def unify_zwnj(text: str) -> str:
    """ZWNJ look-alikes become one ZWNJ; a ZWNJ not between two letters is dropped."""
    text = _ZWNJ_LIKE.sub(ZWNJ, text)
    if ZWNJ not in text:
        return text
    return _ZWNJ_NOT_BETWEEN_LETTERS.sub("", _ZWNJ_RUN.sub(ZWNJ, text))


def unify_digits(text: str) -> str:
    """Persian and Arabic-Indic digits to ASCII."""
    return to_latin_digits(text)


def unify_punctuation(text: str) -> str:
    """Part separators (، ؛ , - / ...) become «،»; word separators (. : quotes) a space.

    A slash between digits («۱۲/۳») and a minus before digits («-۱») are kept.
    """
    keep = ("/" in text or "-" in text) and _KEEP_IN_NUMBER.search(text) is not None
    if keep:
        text = _KEEP_IN_NUMBER.sub(lambda m: _PLACEHOLDERS[m.group()], text)
    text = _WEAK.sub(" ", _STRONG.sub(f" {SEPARATOR} ", text))
    if keep:
        text = text.replace("\ue000", "/").replace("\ue001", "-")
    return text


def collapse_whitespace(text: str) -> str:
    """Runs of spaces become one; separators written «، »; no leading or trailing separator."""
    text = " ".join(text.split())
    if SEPARATOR in text:
        text = text.replace(f" {SEPARATOR}", SEPARATOR).replace(f"{SEPARATOR} ", SEPARATOR)
        while SEPARATOR * 2 in text:
            text = text.replace(SEPARATOR * 2, SEPARATOR)
        text = text.strip(SEPARATOR).replace(SEPARATOR, f"{SEPARATOR} ")
    return text


def resolve(path: str) -> Step:
    """Import a step from its dotted path («package.module.function»)."""
    module, _, name = path.rpartition(".")
    if not module:
        raise ValueError(f"not a dotted path: {path!r}")
    step = getattr(importlib.import_module(module), name)
    if not callable(step):
        raise TypeError(f"{path} is not callable")
    return step


@lru_cache(maxsize=64)
def _compiled(steps: tuple[str, ...]) -> tuple[Step, ...]:
    return tuple(resolve(p) for p in steps)


def build_pipeline(steps: Iterable[str] = DEFAULT_STEPS) -> Step:
    """One function running ``steps`` in order (paths resolved once)."""
    funcs = _compiled(tuple(steps))

    def pipeline(text: str) -> str:
        for f in funcs:
            text = f(text)
        return text

    return pipeline


def run_pipeline(text: str, steps: Iterable[str] = DEFAULT_STEPS) -> str:
    """Run the normalisation steps named by dotted paths over ``text``."""
    for f in _compiled(tuple(steps)):
        text = f(text)
    return text


def _fused_table() -> list[str | None]:
    """One translation table doing the character-local default steps at once.

    Built by running those steps on every character they can change, so it cannot drift from
    them. «/» and «-» are left out: whether they separate depends on their neighbours.
    """
    table: list[str | None] = [chr(cp) for cp in range(0x10000)]
    for cp in range(0xD800, 0xE000):
        table[cp] = None  # lone surrogates never reach here (remove_control_chars), keep it total
    candidates = (
        [chr(cp) for cp in [*range(0xFB50, 0xFE00), *range(0xFE70, 0xFF00)]]
        + list(ARABIC_TO_PERSIAN)
        + list(DIACRITICS + TATWEEL + "\u0653")
        + list(ZWNJ_LOOKALIKES[1:])
        + list(PERSIAN_DIGITS + ARABIC_DIGITS)
        + list(STRONG_SEPARATORS + WEAK_SEPARATORS)
    )
    for ch in candidates:
        if ch in "/-":
            continue
        out = strip_diacritics(fold_arabic_letters(fold_presentation_forms(ch)))
        out = _ZWNJ_LIKE.sub(ZWNJ, out)
        out = _WEAK.sub(" ", _STRONG.sub(f" {SEPARATOR} ", to_latin_digits(out)))
        table[ord(ch)] = out or None
    return table


_FUSED = _fused_table()


def normalize(text: str) -> str:
    """:data:`DEFAULT_STEPS` fused for speed (one table lookup per character); same result."""
    # isprintable() is one fast C scan; only text failing it (controls, but also a ZWNJ) needs the regex.
    if not text.isprintable() and _CONTROL.search(text) is not None:
        text = _CONTROL.sub(" ", text)
    text = unicodedata.normalize("NFC", text).translate(_FUSED)
    if ZWNJ in text:
        text = _ZWNJ_NOT_BETWEEN_LETTERS.sub("", _ZWNJ_RUN.sub(ZWNJ, text))
    if "/" in text or "-" in text:  # the table left these for here: they depend on neighbours
        keep = _KEEP_IN_NUMBER.search(text) is not None
        if keep:
            text = _KEEP_IN_NUMBER.sub(lambda m: _PLACEHOLDERS[m.group()], text)
        text = text.replace("/", f" {SEPARATOR} ").replace("-", f" {SEPARATOR} ")
        if keep:
            text = text.replace("\ue000", "/").replace("\ue001", "-")
    return collapse_whitespace(text)
