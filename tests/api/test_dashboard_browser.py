"""The provinces' dashboard in headless Chromium against a real `jinef serve`: the choropleth draws, a province is
chosen (from the list and by clicking the ranking), its plan's progress chart and tables appear."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jinef.api.servicedb import open_store
from tests.api.conftest import running_serve
from tests.api.test_browser import _screenshot, browser  # noqa: F401  (the shared Chromium fixture)
from tests.stats.conftest import unit_places


@pytest.fixture(scope="module")
def dashboard_site(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real `jinef serve` whose Tehran office has a plan with two snapshots: (base url, key)."""
    service_db = tmp_path_factory.mktemp("dash") / "svc.sqlite"
    store = open_store(service_db)
    key = store.create_key("tehran-office", ["stats", "plans"], None, province="23")[1]
    store.close()
    with running_serve("--db", str(small_registry), "--service-db", str(service_db)) as url:
        h = {"X-API-Key": key}
        plan = {"province": "23", "measure": "units", "target": 5000, "deadline": "1405-06-31"}
        assert httpx.post(f"{url}/v1/plans", json=plan, headers=h, timeout=30).status_code == 201
        for _ in range(2):
            assert httpx.post(f"{url}/v1/stats/snapshots", headers=h, timeout=60).status_code == 201
        yield url, key


def test_provinces_page_map_province_plan_chart(dashboard_site: tuple[str, str], browser: Any,  # noqa: F811
                                                small_registry: Path, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url, key = dashboard_site
    wait = WebDriverWait(browser, 30)
    browser.get(url + "/provinces")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"
    browser.find_element(By.ID, "api-key").send_keys(key)
    browser.find_element(By.ID, "save-key").click()

    # The choropleth: one filled path per real province, coloured by the chosen measure.
    wait.until(lambda d: d.execute_script("return document.querySelectorAll('#map svg path').length") >= 31)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")) == 31)
    fills = browser.execute_script(
        "return Array.from(document.querySelectorAll('#map svg path')).map(p => p.getAttribute('fill'))")
    assert len(set(fills)) > 2, fills  # provinces differ in units: more than one colour
    first = browser.find_element(By.CSS_SELECTOR, "#ranking tbody tr td:nth-child(2)").text
    units = [v[1] for v in unit_places(small_registry).values() if v[0] == "active"]
    assert first == "تهران" and max(set(units), key=units.count) == "23"
    link = browser.find_element(By.ID, "measure-definition").get_attribute("href")
    assert link.endswith("/v1/stats/definitions#units")

    # Choosing a province shows its figures, its plan with a progress chart of two snapshots, and its counties.
    Select(browser.find_element(By.ID, "province")).select_by_value("23")
    wait.until(lambda d: d.find_element(By.ID, "province-title").text == "استان تهران")
    rows = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#plans tbody tr"))
    assert len(rows) == 1 and "۵,۰۰۰" in rows[0].text and "۱۴۰۵-۰۶-۳۱" in rows[0].text
    points = wait.until(lambda d: d.execute_script(
        "const c = document.querySelector('#charts canvas'); const ch = c && Chart.getChart(c);"
        "return ch ? ch.data.datasets[0].data : null"))
    tehran_units = units.count("23")
    assert points == [tehran_units, tehran_units]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#counties tbody tr")) > 5

    # A province can be chosen from the ranking too; it has no plan.
    browser.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")[1].click()
    wait.until(lambda d: d.find_element(By.ID, "province-title").text != "استان تهران")
    wait.until(lambda d: d.find_element(By.ID, "no-plans").is_displayed())
    assert not browser.find_elements(By.CSS_SELECTOR, "#charts canvas")

    # Every table downloads (CSV and JSON buttons beside it), the lookups per organisation type's too.
    assert len(browser.find_elements(By.CSS_SELECTOR, ".downloads button[data-format='csv']")) == 6
    assert browser.find_elements(By.CSS_SELECTOR, ".downloads[data-table='served_by_type'] button")
    _screenshot(browser, tmp_path, "provinces-page")
    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, errors
