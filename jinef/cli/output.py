"""Shared CLI output helpers: JSON to stdout, errors to stderr with a non-zero exit."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from jinef.cli.language import shown
from jinef.common.messages import Message, MessageError, message

console = Console(stderr=True)


def print_json(value: Any) -> None:
    """Print JSON with Persian text kept readable."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def reason(exc: Exception) -> str | Message:
    """What an exception says: its catalogue message when it carries one, else its text."""
    return exc.text if isinstance(exc, MessageError) else str(exc)


def fail(text: str | Message, code: int = 1) -> NoReturn:
    """Say what was wrong on stderr, in the command's language when ``text`` is a catalogue message, and exit
    with ``code``."""
    # Escaped: messages name rules in brackets («[too_long]»), which Rich would take for markup and drop.
    label = escape(shown(message("cli.error")))
    console.print(f"[bold red]{label}[/] {escape(shown(text))}", highlight=False)
    raise typer.Exit(code)
