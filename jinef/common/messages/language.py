"""Which language to answer in: an HTTP ``Accept-Language`` header, or the CLI's locale variables.

Only English and Persian are spoken; English is the default, so a client that says nothing (or asks only for
languages Jinef does not have) keeps the answers it always had.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Literal, cast

Language = Literal["en", "fa"]
LANGUAGES: tuple[Language, ...] = ("en", "fa")
DEFAULT_LANGUAGE: Language = "en"
# Looked at in this order, as gettext does: LC_ALL overrides LC_MESSAGES, which overrides LANG.
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def _primary(tag: str) -> str:
    """``fa`` of ``fa-IR`` or ``fa_IR.UTF-8``: the language subtag, lower case."""
    return tag.strip().replace("_", "-").split("-", 1)[0].split(".", 1)[0].lower()


@functools.lru_cache(maxsize=256)
def negotiate(accept_language: str | None) -> Language:
    """The language of an ``Accept-Language`` header (RFC 9110 §12.5.4): the spoken one the client ranks
    highest, q-values honoured (``q=0`` refuses), earlier ranges winning ties; English when none is spoken."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0  # a malformed weight: the range is ignored rather than trusted
        primary = _primary(tag)
        spoken = DEFAULT_LANGUAGE if primary == "*" else primary
        if weight <= 0 or spoken not in LANGUAGES:
            continue
        candidate = (-weight, position, cast(Language, spoken))
        if best is None or candidate < best:
            best = candidate
    return best[2] if best is not None else DEFAULT_LANGUAGE


def language_from_environment(environ: Mapping[str, str]) -> Language:
    """Persian when the first locale variable set (``LC_ALL``, ``LC_MESSAGES``, ``LANG``) starts with ``fa``,
    else English."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            return "fa" if _primary(value) == "fa" else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def parse_language(text: str) -> Language:
    """``en`` or ``fa`` from a user's ``--lang`` (``fa-IR`` and ``FA`` too); ValueError for any other."""
    primary = _primary(text)
    if primary not in LANGUAGES:
        raise ValueError(f"unknown language {text!r}: use {' or '.join(LANGUAGES)}")
    return cast(Language, primary)
