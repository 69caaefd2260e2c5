"""The README's "Try it" examples, run as a reader would: every `jinef` command through the CLI and every `curl` line
with curl against `jinef serve` on a loopback port, on the small registry (its own postcode, address and point in
place of the default registry's that the README shows)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from jinef.api.servicedb import open_store
from jinef.cli.main import app
from jinef.model.digits import to_persian_digits
from tests.api.conftest import running_serve

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "tests/api/test_readme_examples.py runs every command of the next block"
README_URL = "http://127.0.0.1:8000"


def readme_block() -> list[str]:
    """The lines of the fenced block after the marker comment."""
    text = README.read_text(encoding="utf-8")
    after = text[text.index(MARKER):]
    block = re.search(r"```sh\n(.*?)```", after, re.S)
    assert block is not None, "no ```sh block after the README's marker"
    return block.group(1).splitlines()


def example_values(lines: list[str]) -> dict[str, str]:
    """postcode, address and point as `jinef example` printed them (the lines after `$ jinef example`)."""
    at = lines.index("$ jinef example")
    return dict(line.split(None, 1) for line in lines[at + 1:at + 4])


def persian_dashed(postcode: str) -> str:
    return to_persian_digits(f"{postcode[:5]}-{postcode[5:]}")


def substituted(line: str, readme: dict[str, str], ours: dict[str, str]) -> str:
    """The README line with the default registry's example replaced by the test registry's."""
    (lat, lon), (our_lat, our_lon) = readme["point"].split(","), ours["point"].split(",")
    for old, new in ((readme["address"], ours["address"]), (readme["postcode"], ours["postcode"]),
                     (persian_dashed(readme["postcode"]), persian_dashed(ours["postcode"])), (lat, our_lat),
                     (lon, our_lon)):
        line = line.replace(old, new)
    return line


def test_readme_examples_run(small_registry: Path, tmp_path: Path) -> None:
    lines = readme_block()
    runner = CliRunner()
    printed = runner.invoke(app, ["example"], env={"JINEF_DB": str(small_registry)})
    assert printed.exit_code == 0, printed.output
    ours = dict(line.split(None, 1) for line in printed.stdout.splitlines())
    readme = example_values(lines)
    assert set(readme) == set(ours) == {"postcode", "address", "point"}
    commands = [substituted(line[2:], readme, ours) for line in lines if line.startswith("$ ")]
    jinef_lines = [c for c in commands if c.startswith("jinef ")]
    curl_lines = [c for c in commands if c.startswith("curl ")]
    assert len(jinef_lines) >= 4 and len(curl_lines) == 3, commands
    for command in jinef_lines:
        done = runner.invoke(app, shlex.split(command)[1:], env={"JINEF_DB": str(small_registry)})
        assert done.exit_code == 0, (command, done.output)
        assert ours["postcode"] in done.stdout or command == "jinef example", (command, done.stdout)

    service_db = tmp_path / "service.sqlite"
    store = open_store(service_db)
    key = store.create_key("readme", ["lookup", "geocode", "reverse"], None)[1]
    store.close()
    answers = []
    with running_serve("--db", str(small_registry), "--service-db", str(service_db), "--workers", "1") as url:
        for command in curl_lines:
            done = subprocess.run(["bash", "-c", command.replace(README_URL, url) + " -sS -w '\\n%{http_code}'"],
                                  capture_output=True, text=True, timeout=60, env={**os.environ, "JINEF_API_KEY": key})
            body, status = done.stdout.rsplit("\n", 1)
            assert done.returncode == 0 and status == "200", (command, done.stdout, done.stderr)
            answers.append(json.loads(body))
    lookup, geocode, reverse = answers
    assert lookup["postcode"] == ours["postcode"] and lookup["standard_address"] == ours["address"]
    assert geocode["candidates"][0]["postcode"] == ours["postcode"]
    assert reverse["status"] == "ok" and ours["postcode"] in reverse["buildings"][0]["postcodes"]
