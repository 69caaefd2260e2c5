"""The living registry through the library, on both engines: allocation by the national rules, edits that keep
every version, a gap-free change feed, and errors that name the field and the rule."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from jinef.model.change import Actor, Reason
from jinef.model.postcode import is_valid
from jinef.read.registry.registry import Registry
from jinef.write.compile import index_registry
from jinef.write.edit.editor import RegistryEditor
from jinef.write.edit.errors import EditError
from jinef.write.edit.feed import ChangeFeed
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from tests.conftest import build_registry
from tests.living.conftest import city_building, parts_beside
from tests.test_import import export, load, rows_of, write_rows

BANK = Actor("bank", 7, "req-1")


def test_a_new_building_gets_valid_postcodes_in_its_neighbours_route(editable: Path | str) -> None:
    a = city_building(editable)
    with RegistryEditor.open(editable) as e:
        r = e.create_building(parts_beside(a, building="سپهر"),
                              [{"floor": 1, "unit": "1", "usage": "مسکونی"}, {"floor": 2, "unit": "2"}], BANK)
        assert len(r.postcodes) == 2 and len(set(r.postcodes)) == 2
        assert all(is_valid(p) for p in r.postcodes)
        # The neighbour on the same street shares its route and block (the first six digits in a city).
        with Registry.open(editable) as reg:
            street = [b for b in reg.addresses() if b.last_thoroughfare == a.last_thoroughfare
                      and b.locality == a.locality]
        assert {p[:6] for p in r.postcodes} <= {b.postcode[:6] for b in street}
        assert not {p for p in r.postcodes} & {b.postcode for b in street}
        (v,) = e.history(r.postcodes[0])
        assert v["kind"] == "create" and v["org"] == "bank" and v["request_id"] == "req-1"
        assert v["address"]["usage"] == "residential" and v["address"]["building"] == "سپهر"
        assert v["address"]["last_thoroughfare"] == a.last_thoroughfare


def test_a_retired_postcode_is_never_issued_again(editable: Path | str) -> None:
    a = city_building(editable)
    with RegistryEditor.open(editable) as e:
        r = e.create_building(parts_beside(a), [{"unit": str(i)} for i in range(3)])
        for p in r.postcodes:
            e.retire(p, reason=Reason.of("demolished"))
        again = e.add_units(r.building_id or 0, [{"unit": str(i)} for i in range(40)])
        assert not set(again.postcodes) & set(r.postcodes)
        assert len(set(again.postcodes)) == 40 and all(is_valid(p) for p in again.postcodes)
        with pytest.raises(EditError) as err:
            e.retire(r.postcodes[0])
        assert err.value.status == 409 and err.value.code == "retired"
        versions = e.history(r.postcodes[0])
        assert [v["kind"] for v in versions] == ["create", "retire"]
        assert versions[0]["valid_to"] == versions[1]["valid_from"] and versions[1]["valid_to"] is None
        assert versions[1]["address"]["status"] == "retired" and versions[1]["reason"] == "demolished"


def test_edits_keep_every_version_and_the_feed_lists_each_change_once_in_order(editable: Path | str) -> None:
    a = city_building(editable)
    with RegistryEditor.open(editable) as e:
        base = e.last_seq()
        e.update(a.postcode, {"usage": "تجاری", "unit": "7"}, BANK, Reason.of("change_of_use", "a shop now"))
        e.update(a.postcode, {"floor": 3})
        r = e.create_building(parts_beside(a), [{"unit": "1"}, {"unit": "2"}])
        split = e.split(r.postcodes[0], [{"unit": "1a"}, {"unit": "1b"}, {"unit": "1c"}])
        merged = e.merge([split.postcodes[1], split.postcodes[2]], {"unit": "1bc"})
        moved = e.move(r.postcodes[1], a.building_id or 0)
        versions = e.history(a.postcode)
        assert [v["kind"] for v in versions] == ["registered", "update", "update"]
        assert versions[0]["address"]["usage"] == a.usage and versions[0]["address"]["unit"] == a.unit
        assert versions[1]["address"]["usage"] == "commercial" and versions[1]["reason"] == "change_of_use"
        assert versions[1]["note"] == "a shop now" and versions[2]["address"]["floor"] == 3
        assert versions[2]["address"]["unit"] == "7"  # a later edit keeps the earlier one's fields
        assert len(split.postcodes) == 3 and merged.retired == [split.postcodes[2]]
        assert e.history(split.postcodes[2])[-1]["note"].startswith(f"merged into {split.postcodes[1]}")
        assert moved.building_id == a.building_id
        feed = e.changes(base)
        seqs = [c["seq"] for c in feed]
        assert seqs == list(range(base + 1, base + 1 + len(feed)))  # ordered, no gap
        # update, update, 2 creates, split + 2 creates, merge + retire, move
        assert [c["kind"] for c in feed] == ["update", "update", "create", "create", "split", "create", "create",
                                             "merge", "retire", "move"]
        generation, read = ChangeFeed(editable).read(base + 3, 3)
        assert [c["seq"] for c in read] == seqs[3:6] and generation


def test_bad_edits_name_the_field_and_rule_and_write_nothing(editable: Path | str) -> None:
    a = city_building(editable)
    with RegistryEditor.open(editable) as e:
        before = e.last_seq()
        cases = [
            (parts_beside(a, locality="ناکجاآباد"), [{"unit": "1"}], "locality", "unknown_value"),
            (parts_beside(a), [{"unit": "1", "usage": "فضایی"}], "units[0].usage", "unknown_value"),
            (parts_beside(a, lat=51.4), [{"unit": "1"}], "lat", "out_of_range"),
            (parts_beside(a, last_thoroughfare="آزادی"), [{"unit": "1"}], "last_thoroughfare", "no_type_word"),
            (parts_beside(a), [], "units", "missing"),
            (parts_beside(a), [{"unit": "1", "floor": "دوم"}], "units[0].floor", "not_a_number"),
        ]
        for parts, units, field, code in cases:
            with pytest.raises(EditError) as err:
                e.create_building(parts, units)
            assert (err.value.field, err.value.code) == (field, code), err.value
            assert err.value.message and err.value.message_fa
        with pytest.raises(EditError) as err:
            e.update(a.postcode, {"colour": "blue"})
        assert err.value.code == "unknown_field"
        with pytest.raises(EditError) as err:
            e.update("1234", {"unit": "1"})
        assert err.value.code == "invalid_postcode"
        assert e.last_seq() == before


def test_concurrent_editors_never_share_a_postcode(editable: Path | str) -> None:
    a = city_building(editable)
    got: list[str] = []
    errors: list[BaseException] = []

    def client(i: int) -> None:
        try:
            with RegistryEditor.open(editable) as e:
                for j in range(4):
                    got.extend(e.create_building(parts_beside(a, plate=f"{i}{j}"), [{"unit": "1"}, {"unit": "2"}])
                               .postcodes)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(got) == 48 and len(set(got)) == 48
    with RegistryEditor.open(editable) as e:
        feed = e.changes(0, 10_000)
    assert sorted(c["postcode"] for c in feed) == sorted(got)
    assert [c["seq"] for c in feed] == list(range(1, 49))


def test_the_read_side_answers_changes_from_the_feed_and_index_folds_them_in(editable: Path | str) -> None:
    a = city_building(editable)
    with RegistryEditor.open(editable) as e:
        r = e.create_building(parts_beside(a, last_thoroughfare="کوچه نیلوفر آبی", plate="4"),
                              [{"floor": 1, "unit": "1"}, {"floor": 2, "unit": "2"}])
        e.retire(a.postcode, reason=Reason.of("demolished"))
    reg = Registry.open(editable)
    assert reg.lookup(r.postcodes[0]) is None  # the image alone does not know it
    _, changes = ChangeFeed(editable).read(reg.overlay.seq)
    reg.apply_changes(changes)
    new = reg.lookup(r.postcodes[1])
    assert new is not None and new.floor == 2 and new.last_thoroughfare == "کوچه نیلوفر آبی"
    assert reg.status(a.postcode) == "retired"
    names = [x.name for x in reg.autocomplete.suggest("نیلوفر آب", locality=a.locality)]
    assert "کوچه نیلوفر آبی" in names, names
    g = reg.geocoder.geocode(f"{a.locality}، کوچه نیلوفر آبی، پلاک ۴، طبقه ۲")
    assert g.best is not None and g.best.postcode == r.postcodes[1], g.to_dict()
    assert g.best.address == new.standard_address
    assert all(c.postcode != a.postcode for c in reg.geocoder.geocode(a.standard_address).candidates)
    assert new.lat is not None and new.lon is not None
    rv = reg.reverse.reverse(new.lat, new.lon)
    assert rv.buildings[0].building_id == r.building_id and rv.buildings[0].postcodes == tuple(r.postcodes)
    batch = reg.reverse.reverse_many([new.lat], [new.lon])
    assert batch.postcode_text() == [r.postcodes[0]]
    assert a.lat is not None and a.lon is not None
    old = reg.reverse.reverse(a.lat, a.lon)
    assert all(a.postcode not in b.postcodes for b in old.buildings)
    # `jinef index` folds the changes into a new image: no overlay needed any more.
    index_registry(editable)
    folded = Registry.open(editable)
    assert folded.overlay.seq == changes[-1]["seq"]
    f = folded.lookup(r.postcodes[1])
    assert f is not None and f.standard_address == new.standard_address
    assert folded.status(a.postcode) == "retired"


def test_an_open_editor_edits_the_registry_that_replaced_the_one_it_opened(
        editable: Path | str, divisions: Divisions, boundaries: Boundaries) -> None:
    with RegistryEditor.open(editable) as e:
        e.last_seq()
        build_registry(editable, 800, 5, divisions, boundaries)  # a replacing build, as `jinef build` makes
        a = city_building(editable)
        r = e.create_building(parts_beside(a), [{"unit": "1"}])
    with RegistryEditor.open(editable) as fresh:
        assert [v["kind"] for v in fresh.history(r.postcodes[0])] == ["create"]
        assert fresh.last_seq() == 1  # the new registry's log starts afresh


def test_a_postcode_retired_before_a_replacing_import_is_never_issued_again(
        editable: Path | str, tmp_path: Path, divisions: Divisions, boundaries: Boundaries) -> None:
    a = city_building(editable)
    with RegistryEditor.open(editable) as e:
        r = e.create_building(parts_beside(a), [{"unit": str(i)} for i in range(3)])
        for p in r.postcodes:
            e.retire(p, reason=Reason.of("demolished"))
    # The export holds active units only: the import that replaces the registry does not list them.
    text = export(editable)
    assert not set(r.postcodes) & {row["postcode"] for row in rows_of(text)}
    load(write_rows(tmp_path / "again.csv", rows_of(text)), editable, divisions, boundaries)
    with RegistryEditor.open(editable) as e:
        assert e.last_seq() == 0  # a new registry
        again = e.add_units(_building_of(editable, a.postcode), [{"unit": str(i)} for i in range(60)])
    assert not set(again.postcodes) & set(r.postcodes)
    assert {p[:6] for p in again.postcodes} & {p[:6] for p in r.postcodes}  # the same block was searched


def _building_of(location: Path | str, postcode: str) -> int:
    with Registry.open(location) as reg:
        found = reg.lookup(postcode)
    assert found is not None and found.building_id is not None
    return found.building_id
