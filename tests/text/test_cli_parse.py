"""`jinef parse` on the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from jinef.cli.main import app


def test_parse_json() -> None:
    result = CliRunner().invoke(app, ["parse", "تهران، خ آزادی، ک ۱۲، پ۵ ط۳", "--json"])
    assert result.exit_code == 0
    assert "خیابان" in result.stdout  # Persian kept readable, not \\u escapes
    data = json.loads(result.stdout)
    assert data["last_thoroughfare"] == "کوچه 12"
    assert (data["plate"], data["floor"], data["places"]) == ("5", 3, ["تهران"])


def test_parse_table() -> None:
    result = CliRunner().invoke(app, ["parse", "خیابان آزادی پلاک ۱۲"])
    assert result.exit_code == 0
    assert "خیابان آزادی" in result.stdout and "plate" in result.stdout
