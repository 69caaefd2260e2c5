"""The standard address never repeats a level's type word («ساختمان ساختمان سپهر», «محله محله ونک»)."""

from __future__ import annotations

import io
from pathlib import Path

import orjson

from jinef.model.address import Address, standard_address
from jinef.read.registry.address_json import unit_json
from jinef.read.registry.registry import Registry
from jinef.write.export.lines import write_registry_export
from jinef.write.store.open import open_reader
from tests.conftest import EngineRegistries
from tests.test_import import NewLocation, export, load, rows_of, write_rows


def _address(**kw: object) -> Address:
    fields: dict[str, object] = dict(
        postcode="1345678901", province="تهران", county="تهران", district="", rural_district="",
        locality_type="شهر", locality="تهران", neighbourhood="", prev_thoroughfare="", last_thoroughfare="خیابان آزادی",
        plate="12", entrance="", building="", floor=None, unit="", usage="residential", lat=None, lon=None)
    fields.update(kw)
    return Address(**fields)  # type: ignore[arg-type]


def test_building_type_word_printed_once() -> None:
    assert "، ساختمان سپهر" in _address(building="ساختمان سپهر").standard_address
    assert "ساختمان ساختمان" not in _address(building="ساختمان سپهر").standard_address
    assert "، ساختمان سپهر" in _address(building="سپهر").standard_address  # a bare name gets the word
    assert _address(building="برج میلاد").standard_address.endswith("پلاک ۱۲، برج میلاد")
    assert _address(building="مجتمع نگین ۲").standard_address.endswith("پلاک ۱۲، مجتمع نگین ۲")
    # A name that only begins with the letters of a type word is not one.
    assert _address(building="برجیس").standard_address.endswith("ساختمان برجیس")


def test_neighbourhood_and_locality_type_word_printed_once() -> None:
    a = _address(neighbourhood="محله ونک")
    assert "، محله ونک، " in a.standard_address and "محله محله" not in a.standard_address
    assert "، محله ونک، " in _address(neighbourhood="ونک").standard_address
    city = _address(locality="شهر امام", county="اهواز", province="خوزستان")
    assert "، شهر امام، " in city.standard_address and "شهر شهر" not in city.standard_address


def test_imported_names_answer_once_on_every_path(engine_registries: EngineRegistries, new_location: NewLocation,
                                                  tmp_path: Path) -> None:
    """An imported «ساختمان سپهر» is written once by the lookup, the JSON answer and the export alike."""
    rows = rows_of(export(engine_registries.get("sqlite")))[:200]
    rows[0]["building"], rows[1]["building"], rows[2]["neighbourhood"] = "ساختمان سپهر", "سپهر", "محله ونک"
    loc = new_location("names")
    load(write_rows(tmp_path / "names.csv", rows), loc, engine_registries.divisions, engine_registries.boundaries)
    codes = [int(r["postcode"]) for r in rows[:3]]
    with Registry.open(loc) as reg:
        answers = [reg.lookup(r["postcode"]) for r in rows[:3]]
        json = [orjson.loads(b or b"null") for b in reg.json.encode_many(codes)]
    assert all(a is not None for a in answers)
    lines = [standard_address(a) for a in answers if a is not None]
    assert "، ساختمان سپهر" in lines[0] and "ساختمان ساختمان" not in lines[0]
    assert "، ساختمان سپهر" in lines[1]
    assert "، محله ونک" in lines[2] and "محله محله" not in lines[2]
    assert [j["standard_address"] for j in json] == lines
    assert [orjson.loads(orjson.dumps(unit_json(a)))["standard_address"] for a in answers if a] == lines
    out = io.StringIO()
    reader = open_reader(loc)
    try:
        write_registry_export(reader, out, "csv")
    finally:
        reader.close()
    exported = {r["postcode"]: r["address"] for r in rows_of(out.getvalue())}
    assert [exported[rows[i]["postcode"]] for i in range(3)] == lines
