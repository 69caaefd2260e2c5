"""`jinef reverse`: point(s) → nearest registered building's postcode, distance, province, county, Plus Code."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from jinef.cli.csv_rows import header_and_columns, row_chunks
from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import console, fail, print_json, reason
from jinef.cli.registry_cmds import open_registry, progress_bar
from jinef.common.csv_safety import neutralise_row
from jinef.common.input_encoding import ENCODING_CHOICES, check_encoding, detect_encoding, reading_error
from jinef.common.messages import catalogue, message
from jinef.model.digits import to_latin_digits
from jinef.read.geo.coords import parse_coordinate
from jinef.read.geo.point_rows import RESULT_COLUMNS, UNPARSEABLE, reverse_cells
from jinef.read.geo.reverse import DEFAULT_LIMIT, DEFAULT_RADIUS_M, INVALID, OK, STATUSES

if TYPE_CHECKING:
    from jinef.read.registry.registry import Registry

OUTPUT_COLUMNS = RESULT_COLUMNS
CHUNK_ROWS = 50_000
# Why a point is unusable, as the HTTP API says it.
POINT_RULES = {
    "lat_not_a_number": "lat is not a number",
    "lon_not_a_number": "lon is not a number",
    "lat_out_of_range": "lat must be between -90 and 90",
    "lon_out_of_range": "lon must be between -180 and 180",
}


def parse_point(text: str) -> tuple[float, float]:
    """``LAT,LON`` (comma or Arabic comma between them), a coordinate that is not a number as NaN (the geocoder
    then names the rule); anything else exits with a usage error."""
    parts = [p for p in to_latin_digits(text).replace("،", ",").split(",") if p.strip()]
    if len(parts) != 2:
        fail(message("cli.reverse.point_form", text=text), code=2)
    lat, lon = parse_coordinate(parts[0]), parse_coordinate(parts[1])
    return (math.nan if lat is None else lat), (math.nan if lon is None else lon)


def reverse_csv(registry: Registry, src: TextIO, dst: TextIO, lat_column: str, lon_column: str,
                radius_m: float, on_rows: object = None) -> dict[str, int]:
    """Stream a CSV through reverse_many in chunks, keeping every input column and adding the nearest building's
    postcode and standard address; counts per status."""
    geocoder = registry.reverse
    reader = csv.reader(src)
    header, (ilat, ilon) = header_and_columns(reader, lat_column, lon_column)
    writer = csv.writer(dst, lineterminator="\n")
    writer.writerow(neutralise_row([*header, *OUTPUT_COLUMNS]))
    counts = dict.fromkeys((*STATUSES, UNPARSEABLE), 0)
    for chunk in row_chunks(reader, CHUNK_ROWS):
        cells, statuses = reverse_cells(geocoder, registry.source.get_many, chunk, ilat, ilon, radius_m)
        for row, out, status in zip(chunk, cells, statuses, strict=True):
            # Input cells are echoed: neutralised so that a spreadsheet never runs one as a formula.
            writer.writerow(neutralise_row([*row, *out]))
            counts[status] += 1
        if callable(on_rows):
            on_rows(len(chunk))
    return counts


def _count_rows(path: Path) -> int:
    with path.open("rb") as fh:
        return max(sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 20), b"")) - 1, 0)


def reverse(
    input_csv: Annotated[Path | None, typer.Argument(help="CSV with latitude and longitude columns.")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Output CSV (default stdout).")] = None,
    lat_column: Annotated[str, typer.Option("--lat-column", help="Latitude column name.")] = "lat",
    lon_column: Annotated[str, typer.Option("--lon-column", help="Longitude column name.")] = "lon",
    point: Annotated[str | None, typer.Option("--point", help="One point as LAT,LON.")] = None,
    radius_m: Annotated[float, typer.Option("--radius", min=0, help="Search radius in metres.")] = DEFAULT_RADIUS_M,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Buildings answered for --point.")] = DEFAULT_LIMIT,
    db: DbOption = None,
    json_out: JsonOption = False,
    encoding: Annotated[str | None, typer.Option(
        "--encoding", help="The input file's encoding (default: detected — UTF-8 with or without BOM, UTF-16, "
                           "Windows-1256).")] = None,
) -> None:
    """Reverse geocode: nearest building's postcode, standard address, distance, province, county and Plus Code.

    Exit 0 when every point found a building, 1 when some did not (no building within the radius, outside Iran, or
    an invalid point: the rule is named).
    """
    if (point is None) == (input_csv is None):
        fail(message("cli.reverse.no_input"), code=2)
    registry = open_registry(db)
    if point is not None:
        _reverse_point(registry, point, radius_m, limit, json_out)
        return
    assert input_csv is not None
    if not input_csv.is_file():
        fail(message("cli.file.missing", path=str(input_csv)), code=2)
    try:
        enc = check_encoding(encoding) if encoding else detect_encoding(input_csv)
    except ValueError as exc:
        fail(reason(exc), code=2)
    total = _count_rows(input_csv)
    with input_csv.open(encoding=enc, newline="") as src:
        dst = output.open("w", encoding="utf-8", newline="") if output else sys.stdout
        try:
            with progress_bar(total, "reverse_geocoding") as bar:
                task = bar.add_task("rows", total=total)
                counts = reverse_csv(registry, src, dst, lat_column, lon_column, radius_m,
                                     lambda n: bar.advance(task, n))
        except UnicodeDecodeError as exc:
            fail(reading_error(input_csv, enc, exc), code=2)
        except ValueError as exc:
            fail(message("cli.file.problem", path=str(input_csv), problem=reason(exc)), code=2)
        finally:
            if output:
                dst.close()
    summary = {"rows": sum(counts.values()), **counts}
    if summary["rows"] and counts["unparseable"] == summary["rows"]:
        fail(message("cli.reverse.no_readable_point", path=str(input_csv), lat=lat_column, lon=lon_column,
                     encoding=enc, choices=ENCODING_CHOICES), code=2)
    if json_out and output:
        print_json(summary)
    else:  # the CSV went to stdout: the summary must not mix with it
        # The statuses are the output's status column values: ids, shown as written.
        items = [shown(message("cli.reverse.count", status=k, count=v)) for k, v in counts.items()]
        console.print(shown(message("cli.reverse.summary", rows=summary["rows"], counts=items)), highlight=False,
                      markup=False)
    if counts[OK] < summary["rows"]:
        raise typer.Exit(1)


def _reverse_point(registry: Registry, point: str, radius_m: float, limit: int, json_out: bool) -> None:
    """One point: its buildings, nearest first, and the nearest one's standard address; exit 1 unless found."""
    lat, lon = parse_point(point)
    res = registry.reverse.reverse(lat, lon, radius_m=radius_m, limit=limit)
    nearest = registry.lookup(res.postcode) if res.postcode else None
    if json_out:
        body = res.as_dict()
        for key in ("lat", "lon"):  # as the HTTP API: null for a coordinate that is not a finite number (not NaN)
            body[key] = body[key] if math.isfinite(float(body[key])) else None  # type: ignore[arg-type]
        print_json({**body, "standard_address": nearest.standard_address if nearest else None})
    if res.status == INVALID:
        why = res.reason or INVALID
        rule = (message(f"reverse.reason.{why}") if f"reverse.reason.{why}" in catalogue()
                else POINT_RULES.get(why, why))
        fail(message("cli.reverse.invalid_point", point=point, rule=rule, reason=why))
    if not json_out:
        where = " › ".join(a.name for a in (res.province, res.county) if a) or "-"
        sys.stdout.write(shown(message("cli.reverse.point", status=res.status, where=where,
                                       plus_code=res.plus_code or "-")) + "\n")
        if nearest is not None:
            sys.stdout.write("  " + shown(message("cli.reverse.nearest", postcode=nearest.postcode,
                                                  address=nearest.standard_address)) + "\n")
        for b in res.buildings:
            sys.stdout.write("  " + shown(message("cli.reverse.building", distance=b.distance_m,
                                                  building=b.building_id, postcodes=list(b.postcodes))) + "\n")
    if res.status != OK:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach `jinef reverse`."""
    app.command()(reverse)
