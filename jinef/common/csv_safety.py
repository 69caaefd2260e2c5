"""Spreadsheet formula injection: neutralise the cells of every CSV Jinef writes, and restore them.

A spreadsheet opening a CSV runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(…)``, ``=cmd|…``, ``@SUM(…)``), and some also after a leading tab or carriage return.
Address files carry text typed by the public, so such a cell must not reach a spreadsheet verbatim.

The rule (OWASP's "CSV injection" advice): a cell that starts with one of those characters gets a
single quote ``'`` in front, which every spreadsheet shows as text. So that the change can be undone
exactly, a cell that already starts with ``'`` gets one more. A plain number (``-1``, ``+35.7``) is
left alone: no spreadsheet runs it, and a basement floor or a coordinate should stay a number.

Getting the original back: drop the first character of a cell that starts with ``'``
(:func:`restore_cell`); ``jinef import`` does this, so an export imports back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_ESCAPED = (*TRIGGERS, QUOTE)
_FIRST = frozenset(_ESCAPED)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)\Z")


def neutralise_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will show it as text: a quote before a formula-like start (others unchanged)."""
    if type(value) is not str or not value.startswith(_ESCAPED) or _NUMBER.match(value):
        return value
    return QUOTE + value


def neutralise_row(row: Iterable[Any]) -> list[Any]:
    """Every cell of ``row`` through :func:`neutralise_cell` (inlined: exports write millions of cells)."""
    return [QUOTE + v if type(v) is str and v[:1] in _FIRST and not _NUMBER.match(v) else v for v in row]


def restore_cell(value: str) -> str:
    """The original of a cell written by :func:`neutralise_cell` (drops one leading quote)."""
    return value[1:] if value.startswith(QUOTE) else value


def restore_row(row: Iterable[str]) -> list[str]:
    """Every cell of ``row`` through :func:`restore_cell`."""
    return [restore_cell(v) for v in row]
