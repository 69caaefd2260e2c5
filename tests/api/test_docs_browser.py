"""The API docs in headless Chromium against a real `jinef serve`: /docs (Swagger UI) and /redoc render every
operation from files the service serves itself — nothing is fetched from anywhere else, nothing is refused by the
pages' Content-Security-Policy — and Swagger's "Authorize" sends the key with a "Try it out" call.

The service runs with a settings file (``JINEF_CONFIG``) that turns the access log and CORS on: its workers follow
it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jinef.api.servicedb import open_store
from tests.api.conftest import running_serve
from tests.api.test_browser import _screenshot, browser  # noqa: F401  (the shared Chromium fixture)

# Every resource the page loaded, by URL (scripts, styles, the fetched OpenAPI document, images).
RESOURCES = "return performance.getEntriesByType('resource').map(e => e.name)"
PORTAL = "https://portal.example.ir"
Site = tuple[str, str, int, Path]


@pytest.fixture(scope="module")
def docs_site(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A real `jinef serve` and a lookup key: (base url, key, how many operations its OpenAPI document has, the
    access log its settings file names)."""
    folder = tmp_path_factory.mktemp("docs")
    service_db = folder / "svc.sqlite"
    store = open_store(service_db)
    key = store.create_key("docs-reader", ["lookup"], None)[1]
    store.close()
    config = folder / "jinef.toml"
    config.write_text(f'access_log = "{folder / "access.jsonl"}"\ncors_origins = ["{PORTAL}"]\n', encoding="utf-8")
    os.environ["JINEF_CONFIG"] = str(config)  # for the server's processes only: taken back once it answers
    try:
        with running_serve("--db", str(small_registry), "--service-db", str(service_db)) as url:
            del os.environ["JINEF_CONFIG"]
            paths = httpx.get(f"{url}/openapi.json", timeout=30).json()["paths"]
            yield url, key, sum(len(item) for item in paths.values()), folder / "access.jsonl"
    finally:
        os.environ.pop("JINEF_CONFIG", None)


def _only_this_origin(browser: Any, url: str, answered: str = "\0") -> list[str]:  # noqa: F811
    """Every resource loaded came from the service; no error in the console but a 404 of the ``answered`` call."""
    loaded = browser.execute_script(RESOURCES)
    assert not [r for r in loaded if not r.startswith((url + "/", "data:", "blob:"))], loaded
    allowed = (f"{url}{answered} - ", f"{url}{answered}?")  # the answered call, with or without its query
    errors = [e for e in browser.get_log("browser")
              if e.get("level") == "SEVERE" and not e["message"].startswith(allowed)]
    assert not errors, errors
    return list(loaded)


def test_swagger_ui_renders_every_operation_offline_and_authorizes(
        docs_site: Site, browser: Any, tmp_path: Path) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, key, count, _ = docs_site
    wait = WebDriverWait(browser, 30)
    browser.get(url + "/docs")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) == count)
    assert "/v1/postcodes/{postcode}" in browser.find_element(By.ID, "swagger-ui").text
    loaded = _only_this_origin(browser, url)
    assert f"{url}/static/vendor/swagger-ui/swagger-ui-bundle.js" in loaded
    assert f"{url}/openapi.json" in loaded

    # "Authorize" takes the key once; "Try it out" on a lookup then sends it (not a 401) with the example postcode.
    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper .authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux input[type=text], .modal-ux input[type=password]").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()
    op = browser.find_element(By.ID, "operations-postcodes-lookup_one_v1_postcodes__postcode__get")
    op.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(lambda d: op.find_elements(By.CSS_SELECTOR, ".try-out__btn"))[0].click()
    op.find_element(By.CSS_SELECTOR, ".execute").click()
    status = wait.until(lambda d: op.find_elements(By.CSS_SELECTOR,
                                                   ".live-responses-table tbody .response-col_status"))
    assert status[0].text.strip().startswith(("200", "404")), status[0].text
    assert f"X-API-Key: {key}" in op.find_element(By.CSS_SELECTOR, ".curl").text
    assert "/v1/postcodes/1139500009" in op.find_element(By.CSS_SELECTOR, ".request-url").text
    _screenshot(browser, tmp_path, "swagger-ui")
    _only_this_origin(browser, url, answered="/v1/postcodes/1139500009")


def test_redoc_renders_every_operation_offline(docs_site: Site, browser: Any,  # noqa: F811
                                               tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    url, _, count, _ = docs_site
    browser.get(url + "/redoc")
    # ReDoc gives each operation a section of its own, named operation/<operationId>.
    WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "return document.querySelectorAll('[data-section-id*=\"/operation/\"]').length") == count)
    assert "X-API-Key" in browser.page_source
    loaded = _only_this_origin(browser, url)
    assert f"{url}/static/vendor/redoc/redoc.standalone.js" in loaded
    _screenshot(browser, tmp_path, "redoc")


def test_the_workers_follow_the_settings_file(docs_site: Site, sample_postcodes: list[str]) -> None:
    url, key, _, log = docs_site
    code = sample_postcodes[1]
    r = httpx.get(f"{url}/v1/postcodes/{code}", headers={"Origin": PORTAL, "X-API-Key": key}, timeout=30)
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == PORTAL
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    [mine] = [x for x in lines if x["request_id"] == r.headers["X-Request-ID"]]
    assert (mine["path"], mine["status"], mine["org"]) == ("/v1/postcodes/{postcode}", 200, "docs-reader")
    assert mine["worker"] == int(r.headers["X-Jinef-Worker"])
    assert key not in log.read_text(encoding="utf-8") and code not in log.read_text(encoding="utf-8")
