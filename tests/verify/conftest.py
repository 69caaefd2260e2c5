"""Shared fixtures: a small registry, a controllable clock, and a hub on a real SQLite file."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from verify_helpers import Clock, HubFactory, Registry

from jinef.common.config import verify_db_path
from jinef.read.verify import AbuseConfig, VerifyConfig, VerifyHub


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def registry_path(tmp_path: Path) -> Path:
    return tmp_path / "var" / "registry.sqlite"


@pytest.fixture
def db_path(registry_path: Path) -> Path:
    """The hub's database: beside the registry, never inside it."""
    return verify_db_path(registry_path)


@pytest.fixture
def make_hub(db_path: Path, registry: Registry, clock: Clock) -> Iterator[HubFactory]:
    hubs: list[VerifyHub] = []

    def make(**kw: object) -> VerifyHub:
        kw.setdefault(
            "config", VerifyConfig(abuse=AbuseConfig(max_codes_per_postcode=5, max_postcodes_per_code=5))
        )
        if "gateway" not in kw:  # the tests read the codes from the (explicitly enabled) development outbox
            kw["config"] = dataclasses.replace(kw["config"], dev_sms_outbox=True)  # type: ignore[arg-type]
        kw.setdefault("clock", clock)
        kw.setdefault("environ", {})
        hub = VerifyHub.open(db_path, registry, **kw)  # type: ignore[arg-type]
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.close()


@pytest.fixture
def hub(make_hub: HubFactory) -> VerifyHub:
    return make_hub()
