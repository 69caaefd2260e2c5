"""Shared CLI output helpers: JSON to stdout, errors to stderr with a non-zero exit."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True)


def print_json(value: Any) -> None:
    """Print JSON with Persian text kept readable."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what was wrong on stderr and exit with ``code``."""
    # Escaped: messages name rules in brackets («[too_long]»), which Rich would take for markup and drop.
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)
