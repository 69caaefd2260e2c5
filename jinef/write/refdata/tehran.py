"""Tehran's 22 municipal regions and 568 neighbourhoods (laravel-iran-locations)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from jinef.write.refdata.paths import DataMissingError, data_dir, data_file


@dataclass(frozen=True, slots=True)
class TehranNeighbourhood:
    """One real neighbourhood (محله) of Tehran city and its municipal region number."""

    name: str
    region: int


def load_tehran_neighbourhoods(root: Path | None = None) -> list[TehranNeighbourhood]:
    """The neighbourhoods with their regions, in source order."""
    root = root or data_dir()
    try:
        regions = json.loads(data_file("tehran", "city_regions.json", root=root).read_text("utf-8"))
        hoods = json.loads(data_file("tehran", "neighborhoods.json", root=root).read_text("utf-8"))
        links = json.loads(data_file("tehran", "neighborhood_region.json", root=root).read_text("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataMissingError(f"cannot read Tehran data in {root / 'tehran'}: {exc}") from exc
    number = {r["code"]: int(r["number"]) for r in regions}
    primary = {lk["neighborhood_code"]: lk["city_region_code"] for lk in links if lk.get("is_primary", True)}
    out = []
    for h in hoods:
        region_code = primary.get(h["code"]) or h.get("default_city_region_code")
        if region_code not in number:
            raise DataMissingError(f"tehran/neighborhoods.json: {h['code']} has no known region")
        out.append(TehranNeighbourhood(h["name_fa"].strip(), number[region_code]))
    return out
