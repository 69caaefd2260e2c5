"""Registry lookups and the standard address."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jinef.model import postcode as pc
from jinef.model.address import Address, standard_address
from jinef.model.digits import to_persian_digits
from jinef.read.registry.registry import Registry
from jinef.write.store.base import RegistryNotFoundError
from jinef.write.store.open import open_reader


def sample(**kw: object) -> Address:
    base: dict[str, object] = dict(
        postcode="1345678901", province="تهران", county="تهران", district="مرکزی", rural_district="",
        locality_type="شهر", locality="تهران", neighbourhood="ونک", prev_thoroughfare="خیابان آزادی",
        last_thoroughfare="کوچه دوازدهم", plate="12", entrance="", building="", floor=3, unit="7",
        usage="residential", lat=35.7, lon=51.4)
    base.update(kw)
    return Address(**base)  # type: ignore[arg-type]


def test_standard_address_large_to_small_with_persian_digits() -> None:
    assert standard_address(sample()) == (
        "استان تهران، شهرستان تهران، بخش مرکزی، شهر تهران، محله ونک، خیابان آزادی، کوچه دوازدهم، "
        "پلاک ۱۲، طبقه ۳، واحد ۷")


def test_ground_floor_is_hamkaf() -> None:
    assert "طبقه همکف" in sample(floor=0).standard_address
    assert "طبقه منفی ۱" in sample(floor=-1).standard_address
    assert "طبقه" not in sample(floor=None, unit="").standard_address


def test_lookup_any_digit_form(engine_registry: Path | str) -> None:
    with Registry.open(engine_registry) as reg:
        first = next(reg.addresses())
        code = first.postcode
        assert reg.lookup(code) == first
        assert reg.lookup(to_persian_digits(pc.format_postcode(code))) == first
        assert reg.lookup_many([code, "1345678912"])[1] is None
        with pytest.raises(pc.PostcodeError):
            reg.lookup("12")


def test_missing_registry_is_a_clear_error(new_location: Callable[[str], Path | str]) -> None:
    with pytest.raises(RegistryNotFoundError, match="jinef build"):
        Registry.open(new_location("none"))


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(RegistryNotFoundError, match="cannot connect to PostgreSQL") as info:
        open_reader("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
    assert "secret" not in str(info.value)
    with pytest.raises(RegistryNotFoundError, match="jinef index") as info:
        Registry.open("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=2")  # no image of it here
    assert "secret" not in str(info.value)


def test_status_without_a_lookup(small_registry: Path) -> None:
    with Registry.open(small_registry) as reg:
        a = next(reg.addresses())
        assert reg.status(a.postcode) == a.status == "active"
        assert reg.status("1345678912") is None


_TEXT = st.text(alphabet="0123456789٠١٢٣٤٥٦٧٨٩۰۱۲۳abc سینا‌-", min_size=1, max_size=12)


@given(province=_TEXT, county=_TEXT, locality=_TEXT, thoroughfare=_TEXT, plate=_TEXT, unit=_TEXT,
       floor=st.one_of(st.none(), st.integers(-3, 40)))
def test_standard_address_digits_all_persian(province: str, county: str, locality: str, thoroughfare: str,
                                             plate: str, unit: str, floor: int | None) -> None:
    """Whatever digits the fields hold, the standard address shows each field with Persian digits only."""
    a = Address(postcode="1345678912", province=province, county=county, district="", rural_district="",
                locality_type="شهر", locality=locality, neighbourhood="", prev_thoroughfare="",
                last_thoroughfare=thoroughfare, plate=plate, entrance="", building="", floor=floor, unit=unit,
                usage="residential", lat=None, lon=None)
    text = a.standard_address
    assert not any(ch in text for ch in "0123456789٠١٢٣٤٥٦٧٨٩")
    for value in (province, county, locality, thoroughfare, plate, unit):
        assert to_persian_digits(value).strip() in text  # the locality part is stripped of outer spaces
    assert text.startswith(f"استان {to_persian_digits(province)}، شهرستان {to_persian_digits(county)}")


def test_warm_makes_every_structure_and_maps_every_page(small_registry: Path) -> None:
    """What `jinef serve --warm` does: afterwards no answering structure is left to make, and this process has
    mapped every page of the image (its resident size covers the image)."""
    with Registry.open(small_registry) as reg:
        assert not any(reg.built().values())
        reg.warm()
        assert all(reg.built().values())
        resident, mapped = 0, False
        for line in Path("/proc/self/smaps").read_text().splitlines():
            if re.match(r"[0-9a-f]+-[0-9a-f]+ ", line):  # a mapping's header line
                mapped = str(reg.image.path.resolve()) in line
            elif line.startswith("Rss:") and mapped:
                resident += int(line.split()[1]) * 1024
        assert resident >= 0.95 * reg.image.nbytes
