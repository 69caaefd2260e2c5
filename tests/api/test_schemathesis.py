"""Schemathesis against the served OpenAPI document: generated requests to every endpoint, never a 5xx.

Bounded (a few dozen examples per operation) so the run stays well under a minute.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from jinef.api.app import create_app
from jinef.api.servicedb import KNOWN_SCOPES, open_store
from jinef.common.config import RegistryLocation


@pytest.fixture(scope="module")
def fuzz_app(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    """The real app and a key that may call everything, on a copy of the registry (the key may change it)."""
    svc = tmp_path_factory.mktemp("fuzz") / "svc.sqlite"
    registry = svc.with_name("registry.sqlite")
    shutil.copy(small_registry, registry)
    shutil.copytree(RegistryLocation.of(small_registry).image_root, RegistryLocation.of(registry).image_root,
                    symlinks=True)
    store = open_store(svc)
    # Every scope, so the verification endpoints are fuzzed past their scope check too.
    key = store.create_key("fuzzer", list(KNOWN_SCOPES), None)[1]
    store.close()
    # The development outbox on: the verification endpoints are then exercised past "no SMS gateway" (a 503).
    app = create_app(registry, svc, verify_db=svc.with_name("verify.sqlite"), dev_sms_outbox=True)
    yield app, key
    app.state.service.audit.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: tuple[FastAPI, str]) -> Any:
    """The OpenAPI document the app serves."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzz_app[0])


def test_no_server_errors(api_schema: Any, fuzz_app: tuple[FastAPI, str]) -> None:
    # Driven by hand (not schemathesis' pytest plugin, whose fixture loader does not fit this pytest).
    _, key = fuzz_app
    operations = [op.ok() for op in api_schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            if isinstance(case.body, dict) and "Signature" in case.body and case.body.get("Postcodes"):
                case.body = {**case.body, "Signature": key}  # get past the key check to the row handling
            response = case.call(headers={"X-API-Key": key})
            assert response.status_code < 500, (
                f"{case.method} {case.path}: {response.status_code} {response.text[:500]}")
            assert "Traceback" not in response.text

        check()
