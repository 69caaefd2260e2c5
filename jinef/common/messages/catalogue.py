"""The message catalogue: ids → an English and a Persian template with the same named fields.

``catalogue.toml`` nests tables by topic (``[postcode.rule]``); a table with exactly the keys ``en`` and ``fa``
is one message, its id the dotted path (``postcode.rule.wrong_length``). Templates use ``str.format`` fields.
In Persian, numbers in field values are written with Persian digits (a reader of Persian reads ۱۲ not 12), and
the grouping and percent signs a field's spec asks for and a fraction's decimal point are Persian's (۱٬۲۳۴، ۴۰٪،
۱٫۵); a field formatted ``{name:latin}`` keeps its text as it is (request ids, field paths: things to copy, not
read).
Lists are joined with the language's comma (lists of messages with its semicolon); a field whose value is
itself a :class:`Message` is shown in the same language.
"""

from __future__ import annotations

import functools
import string
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinef.common.messages.language import DEFAULT_LANGUAGE, LANGUAGES, Language

CATALOGUE_FILE = Path(__file__).with_name("catalogue.toml")
LATIN = "latin"  # the format spec that keeps a field's digits as written
_PERSIAN_DIGITS = str.maketrans("0123456789٠١٢٣٤٥٦٧٨٩", "۰۱۲۳۴۵۶۷۸۹" * 2)
_COMMA: dict[Language, str] = {"en": ", ", "fa": "، "}
_SEMICOLON: dict[Language, str] = {"en": "; ", "fa": "؛ "}  # between messages: clauses, not words


class MessageError(ValueError):
    """Bad input refused with a catalogue message (``str()`` is the English text; adapters show ``text`` in
    their caller's language)."""

    def __init__(self, text: Message) -> None:
        super().__init__(text.text(DEFAULT_LANGUAGE))
        self.text = text


class CatalogueError(ValueError):
    """The catalogue file is malformed, or a message was asked for by an unknown id or with the wrong fields."""


def placeholders(template: str) -> frozenset[str]:
    """The named fields of a template."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name is not None)


class _Formatter(string.Formatter):
    """``str.format`` in one language: Persian digits, the language's comma, nested messages in kind."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Message):  # shown by its own template, its own fields' digits already chosen
            return value.text(self.language)
        if isinstance(value, list | tuple | set | frozenset):
            items = sorted(value) if isinstance(value, set | frozenset) else value
            joiner = _SEMICOLON if items and all(isinstance(v, Message) for v in items) else _COMMA
            return joiner[self.language].join(self.format_field(v, format_spec) for v in items)
        text = super().format_field(value, "" if format_spec == LATIN else format_spec)
        if self.language == "fa" and format_spec != LATIN:
            text = text.translate(_PERSIAN_DIGITS)
            # Grouping and percent asked for by the spec ({count:,}, {share:.0%}) in Persian's own signs.
            if "," in format_spec:
                text = text.replace(",", "\u066c")
            if format_spec.endswith("%"):
                text = text.replace("%", "\u066a")
            # A fraction's point is Persian's decimal separator (۱٫۵), as the certificates write coordinates.
            if isinstance(value, float) or format_spec[-1:] in ("e", "E", "f", "F", "g", "G", "%"):
                text = text.replace(".", "\u066b")
        return text


_FORMATTERS: dict[Language, _Formatter] = {lang: _Formatter(lang) for lang in LANGUAGES}


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the catalogue with its field values; shown in either language."""

    id: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def text(self, language: Language = DEFAULT_LANGUAGE) -> str:
        """The message in ``language``."""
        return _FORMATTERS[language].vformat(catalogue().template(self.id, language), (), self.fields)

    def __str__(self) -> str:
        return self.text(DEFAULT_LANGUAGE)


class Catalogue:
    """The templates of every message, by id and language."""

    def __init__(self, templates: Mapping[str, Mapping[Language, str]]) -> None:
        self._templates = templates
        self._fields = {mid: placeholders(t[DEFAULT_LANGUAGE]) for mid, t in templates.items()}

    @classmethod
    def load(cls, path: Path = CATALOGUE_FILE) -> Catalogue:
        """Read a catalogue file; :class:`CatalogueError` names the id whose entry is malformed."""
        with path.open("rb") as f:
            data = tomllib.load(f)
        templates: dict[str, dict[Language, str]] = {}
        for mid, entry in _entries(data, ""):
            if set(entry) != set(LANGUAGES) or not all(isinstance(v, str) and v for v in entry.values()):
                raise CatalogueError(f"{path.name}: {mid}: a message has a non-empty 'en' and 'fa' text, nothing else")
            templates[mid] = {lang: entry[lang] for lang in LANGUAGES}
        return cls(templates)

    def __contains__(self, mid: object) -> bool:
        return mid in self._templates

    def ids(self) -> list[str]:
        """Every message id, sorted."""
        return sorted(self._templates)

    def template(self, mid: str, language: Language) -> str:
        """The raw template of ``mid`` in ``language``."""
        try:
            return self._templates[mid][language]
        except KeyError:
            raise CatalogueError(f"no message {mid!r} in the catalogue") from None

    def fields(self, mid: str) -> frozenset[str]:
        """The field names ``mid`` needs."""
        try:
            return self._fields[mid]
        except KeyError:
            raise CatalogueError(f"no message {mid!r} in the catalogue") from None


def _entries(table: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(id, entry) for every message below ``table``: a table holding ``en`` is a message, any other a topic."""
    for key, value in table.items():
        mid = f"{prefix}.{key}" if prefix else key
        if not isinstance(value, Mapping):
            raise CatalogueError(f"{CATALOGUE_FILE.name}: {mid}: expected a table, found {type(value).__name__}")
        if "en" in value or "fa" in value:
            yield mid, value
        else:
            yield from _entries(value, mid)


@functools.cache
def catalogue() -> Catalogue:
    """The catalogue shipped with Jinef (read once)."""
    return Catalogue.load()


def message(mid: str, /, **fields: Any) -> Message:
    """The message ``mid`` with its fields; :class:`CatalogueError` at once for an unknown id or a field
    missing or extra, so a wrong call fails where it is made, not when the message is shown."""
    wanted = catalogue().fields(mid)
    if wanted != fields.keys():
        raise CatalogueError(f"message {mid!r} takes the fields {sorted(wanted)}, was given {sorted(fields)}")
    return Message(mid, fields)
