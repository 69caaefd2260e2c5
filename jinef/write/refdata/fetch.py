"""Download the reference data from its public sources (the repositories and commits of SOURCES.md).

Everything is fetched into a temporary folder first and moved into place only when complete,
so a failed or interrupted fetch never leaves a half-written data folder.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from jinef.common.messages import Message, message
from jinef.common.settings import DEFAULTS, settings

DEFAULT_BASE = DEFAULTS.fetch_base  # JINEF_FETCH_BASE overrides it
TIMEOUT_S = 30


@dataclass(frozen=True)
class Source:
    """One file: where it goes, and where it comes from."""

    dest: str
    repo: str
    commit: str
    path: str


_TYPHOON = ("SaliBhdr/typhoon-iran-cities", "a689d4ecf926")
_GEOJSON = ("hosseinhabibi2004/iran-geojson", "890ff6c107c5")
_LARAVEL = ("zarbinco/laravel-iran-locations", "63e8a1a86ce2")
_CENSUS = ("jalilian/iran2016census", "208d713f6fd0")
_GNAF = ("masterking32/iran-states-cities-districts", "ef80f5bab604")

SOURCES: tuple[Source, ...] = (
    *(Source(f"divisions/{n}.csv", *_TYPHOON, f"csv/{n}.csv") for n in (
        "provinces", "counties", "sectors", "cities", "city_coordinates", "rural_districts", "city_districts")),
    Source("boundaries/provinces.geojson", *_GEOJSON, "data/provinces/provinces.min.geojson"),
    *(Source(f"boundaries/counties/IR-{i:02d}.geojson", *_GEOJSON,
             f"data/counties/IR-{i:02d}/IR-{i:02d}.all.min.geojson") for i in range(31)),
    *(Source(f"tehran/{n}.json", *_LARAVEL, f"data/{n}.json") for n in (
        "cities", "city_regions", "counties", "neighborhood_region", "neighborhoods", "official_districts",
        "provinces")),
    Source("population/iran2016census.csv", *_CENSUS, "iran2016census.csv"),
    Source("gnaf-places/provinces.json", *_GNAF, "2025-01-18/provinces.json"),
    Source("gnaf-places/cities.json", *_GNAF, "2025-01-18/cities_sorted.json"),
    Source("licenses/typhoon-iran-cities.LICENSE", *_TYPHOON, "LICENSE"),
    Source("licenses/iran2016census.LICENSE", *_CENSUS, "LICENSE"),
    Source("licenses/iran-states-cities-districts.LICENSE", *_GNAF, "LICENSE"),
    Source("licenses/laravel-iran-locations.LICENSE", *_LARAVEL, "LICENSE"),
)


class FetchError(RuntimeError):
    """A download failed; nothing was written to the destination (``text`` says why in either language, ``str()``
    in English)."""

    def __init__(self, text: Message) -> None:
        super().__init__(text.text("en"))
        self.text = text


def county_population(census_csv: str) -> str:
    """``county_population_2016.csv``: the census summed over sex and age group, per county."""
    totals: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for r in csv.DictReader(io.StringIO(census_csv)):
        key = (r["province_code"], r["province_name"], r["county_code"], r["county_name"])
        totals[key] += int(r["male"]) + int(r["female"])
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["province_code", "province_name", "county_code", "county_name", "population"])
    for key in sorted(totals, key=lambda k: k[2]):
        w.writerow([*key, totals[key]])
    return out.getvalue()


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            data: bytes = resp.read()
            return data
    except urllib.error.HTTPError as exc:
        raise FetchError(message("fetch.refused", url=url, status=exc.code, reason=str(exc.reason))) from exc
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(message("fetch.unreachable", url=url, reason=str(reason))) from exc


def fetch(dest: Path, base: str | None = None, progress: Callable[[str], None] | None = None) -> list[Path]:
    """Download every source into ``dest`` (atomically); return the files written."""
    base = (base or settings().fetch_base).rstrip("/")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest.parent))
    try:
        for s in SOURCES:
            url = f"{base}/{s.repo}/raw/{s.commit}/{s.path}"
            if progress:
                progress(s.dest)
            data = _get(url)
            target = tmp / s.dest
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        census = (tmp / "population" / "iran2016census.csv").read_text("utf-8")
        (tmp / "population" / "county_population_2016.csv").write_text(county_population(census), "utf-8")
        written = sorted(p.relative_to(tmp) for p in tmp.rglob("*") if p.is_file())
        for rel in written:
            final = dest / rel
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / rel, final)
        return [dest / r for r in written]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
