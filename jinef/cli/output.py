"""Shared CLI output helpers: JSON to stdout, errors to stderr with a non-zero exit, consoles that wrap only on a
terminal."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from jinef.cli.language import shown
from jinef.common.messages import Message, message

# Wide enough that Rich never breaks a line or squeezes a table written to a pipe or a file: «آذربایجان شرقی»
# split over two lines is a wrong province name to the program reading it.
PIPED_WIDTH = 100_000


class WholeLineConsole(Console):
    """A Rich console that fits text to the window on a terminal and writes whole lines anywhere else."""

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size; on a pipe or a file, a width no line reaches."""
        size = Console.size.fget(self)  # type: ignore[attr-defined]
        return size if self.is_terminal else ConsoleDimensions(PIPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


console = WholeLineConsole(stderr=True)


def stdout_console() -> Console:
    """A console on stdout (tables, text) that wraps only on a terminal."""
    return WholeLineConsole()


def headings(*names: str) -> list[str]:
    """The column headings of a table for reading (``cli.column.<name>``), in the command's language."""
    return [shown(message(f"cli.column.{name}")) for name in names]


def print_json(value: Any) -> None:
    """Print JSON with Persian text kept readable."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def reason(exc: Exception) -> str | Message:
    """What an exception says: its catalogue message when it carries one (a :class:`MessageError`, or another
    error with a ``text`` message), else its text."""
    text = getattr(exc, "text", None)
    return text if isinstance(text, Message) else str(exc)


def fail(text: str | Message, code: int = 1) -> NoReturn:
    """Say what was wrong on stderr, in the command's language when ``text`` is a catalogue message, and exit
    with ``code``."""
    # Escaped: messages name rules in brackets («[too_long]»), which Rich would take for markup and drop.
    label = escape(shown(message("cli.error")))
    console.print(f"[bold red]{label}[/] {escape(shown(text))}", highlight=False)
    raise typer.Exit(code)
