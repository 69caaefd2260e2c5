"""The CLI's language: ``--lang fa|en`` before the command, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``).

Only the texts Jinef writes follow it (errors, rule texts, what a command reports, the headings of its tables);
Typer's own usage errors and help stay English.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from jinef.common.messages import Language, Message, language_from_environment
from jinef.common.messages.language import parse_language

_chosen: list[Language] = []  # set by --lang for this process's command


def current() -> Language:
    """The language of this command's messages."""
    return _chosen[-1] if _chosen else language_from_environment(os.environ)


def shown(text: str | Message) -> str:
    """A message in this command's language (plain text as it is)."""
    return text.text(current()) if isinstance(text, Message) else text


def _choose(value: str | None) -> str | None:
    _chosen.clear()
    if value is not None:
        try:
            _chosen.append(parse_language(value))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
    return value


LangOption = Annotated[
    str | None,
    typer.Option("--lang", callback=_choose, is_eager=True, metavar="fa|en",
                 help="Language of messages: fa (Persian) or en (default: from LC_ALL, LC_MESSAGES or LANG)."),
]
