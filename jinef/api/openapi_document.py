"""What ``/openapi.json`` says beyond FastAPI's routes: who may call each operation, and an example for everything.

- **Security.** Routes that check a key declare the ``ApiKey`` scheme through their dependency
  (:data:`jinef.api.deps.API_KEY`) with the scopes it accepts; here that requirement is written once per scope (any
  one of them admits the key), and the operation's description says which. The few operations without a key are listed
  below, each marked ``security: []`` and ``x-jinef-access`` (``public``, or ``envelope-signature`` for GNAF's
  batch envelope, whose key travels in the body), so an operation that declares nothing stands out in the tests.
- **Examples.** Every parameter and request body gets the example of :mod:`jinef.api.openapi_examples`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from jinef.api.deps import API_KEY
from jinef.api.openapi_examples import BODIES, BODIES_AT, PARAMETERS, PARAMETERS_AT

# Operations anyone may call (public reference data and the service's own health).
PUBLIC: frozenset[tuple[str, str]] = frozenset({
    ("get", "/healthz"), ("get", "/v1/basemap/{level}.geojson"), ("get", "/v1/certificates/keys"),
    ("get", "/v1/stats/definitions"),
})
# GNAF's envelope carries the key as its Signature: no header to declare.
SIGNED_ENVELOPE: frozenset[tuple[str, str]] = frozenset({
    ("post", "/gnaf/postcode/address"), ("post", "/gnaf/postcode/address-string"),
    ("post", "/gnaf/postcode/location"), ("post", "/gnaf/postcode/validate"), ("post", "/gnaf/match"),
})
_SCHEME = API_KEY.scheme_name
_METHODS = ("get", "put", "post", "delete", "patch")


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the completed document (built once, on the first ask)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()  # FastAPI's, cached on the app: completed in place, once
            _declare_access(document)
            _add_examples(document)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_access(document: dict[str, Any]) -> None:
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            key = (method, path)
            if key in PUBLIC or key in SIGNED_ENVELOPE:
                op["security"] = []
                op["x-jinef-access"] = "public" if key in PUBLIC else "envelope-signature"
                if key in SIGNED_ENVELOPE:
                    _append(op, "The key goes in the envelope's `Signature`, not in a header.")
            elif any(_SCHEME in r for r in op.get("security", ())):
                # FastAPI lists a route's scopes in one requirement (all of them); a key needs any one of them.
                wanted = [s for r in op["security"] for s in r.get(_SCHEME, ())]
                op["security"] = [{_SCHEME: [s]} for s in wanted]
                op["x-jinef-access"] = "key"
                _append(op, "Needs a key with the " + " or ".join(f"`{s}`" for s in wanted) + " scope.")


def _append(op: dict[str, Any], sentence: str) -> None:
    op["description"] = f"{op['description']}\n\n{sentence}" if op.get("description") else sentence


def _add_examples(document: dict[str, Any]) -> None:
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            for param in op.get("parameters", []):
                name = param["name"]
                example = PARAMETERS_AT.get((path, name), PARAMETERS.get(name))
                if example is not None and "example" not in param:
                    param["example"] = example
            for media_type, media in op.get("requestBody", {}).get("content", {}).items():
                name = str(media.get("schema", {}).get("$ref", "")).rsplit("/", 1)[-1]
                example = BODIES_AT.get((method, path, media_type), BODIES.get(name))
                if example is not None and "example" not in media:
                    media["example"] = example
