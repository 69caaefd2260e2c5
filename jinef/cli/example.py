"""`jinef example`: one real postcode, its address and its point from the registry, to try the service with.

A new user's first call needs a postcode that exists; the registry is generated, so no fixed one can be printed in
advance. `make run` prints this, with ready `curl` lines for the service it starts, and the README's examples are
checked against it.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import fail, print_json
from jinef.cli.registry_cmds import open_registry
from jinef.common.messages import message
from jinef.model.address import Address, format_coord

# A flat in the capital reads like a real address (street, plate, floor, unit); any geocoded unit will do otherwise.
CAPITAL = "تهران"
KEY_VARIABLE = "$JINEF_API_KEY"


def pick_example(addresses: Iterable[Address]) -> Address | None:
    """The first geocoded flat in the capital, else the first geocoded unit, else None."""
    fallback = None
    for a in addresses:
        if a.lat is None or a.lon is None:
            continue
        if a.province == CAPITAL and a.locality == CAPITAL and a.floor:
            return a
        fallback = fallback or a
    return fallback


def curl_lines(a: Address, url: str, key: str) -> list[str]:
    """A lookup, a geocode and a reverse of ``a`` against the service at ``url``, as `curl` commands."""
    header = shlex.quote(f"X-API-Key: {key}") if key != KEY_VARIABLE else f'"X-API-Key: {key}"'
    base = url.rstrip("/")
    return [
        f"curl -H {header} {base}/v1/postcodes/{a.postcode}",
        f"curl -G -H {header} {base}/v1/geocode --data-urlencode {shlex.quote('q=' + a.standard_address)}",
        f"curl -H {header} '{base}/v1/reverse?lat={format_coord(a.lat)}&lon={format_coord(a.lon)}'",
    ]


def example(
    db: DbOption = None,
    url: Annotated[str | None, typer.Option("--url", help="Also print curl lines for the service at this URL "
                                                          "(e.g. http://127.0.0.1:8000).")] = None,
    key_file: Annotated[Path | None, typer.Option("--key-file", help="With --url: put the key in this file in the "
                                                                     "curl lines (default: $JINEF_API_KEY).")] = None,
    json_out: JsonOption = False,
) -> None:
    """Print one real postcode of the registry, its standard address and its point (to try lookups with)."""
    with open_registry(db) as reg:
        a = pick_example(reg.addresses())
    if a is None:
        fail(message("cli.example.no_geocoded_unit"), code=1)
    point = f"{format_coord(a.lat)},{format_coord(a.lon)}"
    key = key_file.read_text(encoding="utf-8").strip() if key_file else KEY_VARIABLE
    lines = curl_lines(a, url, key) if url else []
    if json_out:
        print_json({"postcode": a.postcode, "address": a.standard_address, "lat": a.lat, "lon": a.lon,
                    "curl": lines})
        return
    typer.echo(shown(message("cli.example.lines", postcode=a.postcode, address=a.standard_address, point=point)))
    for line in lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Attach `jinef example`."""
    app.command()(example)
