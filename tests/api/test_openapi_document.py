"""The served /openapi.json: every operation says who may call it, and every parameter and body has an example that
fits its schema; what it declares is what the app enforces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs  # schemathesis' validator, already a test dependency
import pytest
from fastapi.testclient import TestClient

from jinef.api.app import create_app
from jinef.api.openapi_document import PUBLIC, SIGNED_ENVELOPE
from jinef.api.servicedb import KNOWN_SCOPES

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def api(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The real app over the small registry (read-only here: no call below gets past the key check)."""
    app = create_app(small_registry, tmp_path_factory.mktemp("openapi") / "svc.sqlite", key_cache_ttl=0)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def document(api: TestClient) -> dict[str, Any]:
    """The document as a client gets it."""
    r = api.get("/openapi.json")
    assert r.status_code == 200
    return dict(r.json())


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) for every operation of the document."""
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def test_every_operation_declares_a_key_scope_or_is_explicitly_public(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["ApiKey"] | {"description": ""} == {
        "type": "apiKey", "in": "header", "name": "X-API-Key", "description": ""}
    keyless: set[tuple[str, str]] = set()
    for method, path, op in operations(document):
        where = f"{method.upper()} {path}"
        assert "security" in op, f"{where} declares no security requirement"
        if op["security"] == []:
            assert op["x-jinef-access"] in ("public", "envelope-signature"), where
            keyless.add((method, path))
            continue
        assert op["x-jinef-access"] == "key", where
        for requirement in op["security"]:
            [(scheme, scopes)] = requirement.items()
            assert scheme == "ApiKey" and len(scopes) == 1 and scopes[0] in KNOWN_SCOPES, (where, requirement)
            assert f"`{scopes[0]}`" in op["description"], where
        # The key is the security scheme, not also a header parameter of each operation.
        assert not [p for p in op.get("parameters", []) if p["name"].lower() == "x-api-key"], where
    assert keyless == PUBLIC | SIGNED_ENVELOPE
    assert len(keyless) < len(list(operations(document))) / 4  # the keyless ones are the exception


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    # The schema's references point into the document's components: validate against a root that holds them.
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def test_every_parameter_and_body_has_an_example_that_fits_its_schema(document: dict[str, Any]) -> None:
    bodies = parameters = 0
    for method, path, op in operations(document):
        where = f"{method.upper()} {path}"
        for p in op.get("parameters", []):
            assert "example" in p, f"{where}: parameter {p['name']} has no example"
            errors = [e.message for e in _validator(document, p["schema"]).iter_errors(p["example"])]
            assert not errors, (where, p["name"], errors)
            parameters += 1
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            assert "example" in media, f"{where}: the {media_type} body has no example"
            errors = [e.message for e in _validator(document, media["schema"]).iter_errors(media["example"])]
            assert not errors, (where, errors)
            bodies += 1
    assert bodies >= 30 and parameters >= 35


def test_what_is_declared_is_enforced(api: TestClient, document: dict[str, Any]) -> None:
    # Without a key, every operation declared to need one answers 401; a public one answers without.
    for method, path, op in operations(document):
        url = path
        for p in op.get("parameters", []):
            if p["in"] == "path":
                url = url.replace("{" + p["name"] + "}", str(p["example"]))
        query = {p["name"]: p["example"] for p in op.get("parameters", []) if p["in"] == "query"}
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("example")
        r = api.request(method.upper(), url, params=query, json=body)
        if op["x-jinef-access"] == "public":
            assert r.status_code == 200, (method, path, r.status_code, r.text[:200])
        else:  # a key in the header, or in the envelope (whose example's Signature is a placeholder)
            assert r.status_code == 401, (method, path, r.status_code, r.text[:200])
