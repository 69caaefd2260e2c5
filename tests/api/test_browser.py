"""The search page in headless Chromium against a real `jinef serve` on a loopback port.

A person's path: paste the key, type a half word and pick a suggestion, look a postcode up (typed in
Persian digits), and see the marker on the offline map. A screenshot is kept in the test's tmp dir
(and in ``$JINEF_SCREENSHOT_DIR`` when set) to look at the page.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jinef.api.servicedb import open_store
from jinef.model.digits import to_persian_digits
from jinef.read.registry.registry import Registry
from tests.api.conftest import running_serve

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
                                reason="needs Debian's chromium and chromium-driver (`make browser`)")


@pytest.fixture(scope="module")
def site(small_registry: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A real `jinef serve` (one worker) and a key with the page's scopes: (base url, key)."""
    service_db = tmp_path_factory.mktemp("web") / "svc.sqlite"
    store = open_store(service_db)
    key = store.create_key("web-test", ["lookup", "geocode", "reverse"], None)[1]
    store.close()
    with running_serve("--db", str(small_registry), "--service-db", str(service_db), "--warm") as url:
        yield url, key


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium through chromedriver, with a fresh profile and no background traffic."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,860",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        opts.add_argument(flag)
    driver = webdriver.Chrome(options=opts, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver: Any, tmp_path: Path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    driver.save_screenshot(str(path))
    if os.environ.get("JINEF_SCREENSHOT_DIR"):
        out = Path(os.environ["JINEF_SCREENSHOT_DIR"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / path.name)


def test_search_page_end_to_end(site: tuple[str, str], browser: Any, small_registry: Path,
                                sample_postcodes: list[str], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, key = site
    wait = WebDriverWait(browser, 30)
    browser.get(url + "/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("dir") == "rtl"

    # The key is pasted once and kept by the page.
    browser.find_element(By.ID, "api-key").send_keys(key)
    browser.find_element(By.ID, "save-key").click()
    assert browser.execute_script("return localStorage.getItem('jinef.apiKey')") == key

    # Typing half a word shows suggestions; choosing one shows a result card and a marker.
    browser.find_element(By.ID, "q").send_keys("ارا")
    first = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#suggestions li.suggestion")))
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#suggestions li.suggestion .name")]
    assert "اراک" in names, names
    first = browser.find_elements(By.CSS_SELECTOR, "#suggestions li.suggestion")[names.index("اراک")]
    first.click()
    card = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#results .card")))
    assert "شهرستان اراک" in card.text and "اراک" in card.text
    # The card then tells the province and county of the place's point (a reverse call).
    wait.until(lambda d: "استان" in d.find_element(By.CSS_SELECTOR, "#results .card dl").text)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#map .leaflet-marker-icon")))

    # A postcode typed in Persian digits with a dash shows its standard address.
    code = sample_postcodes[3]
    with Registry.open(small_registry) as reg:
        unit = reg.lookup(code)
    assert unit is not None
    box = browser.find_element(By.ID, "postcode")
    box.send_keys(to_persian_digits(f"{code[:5]}-{code[5:]}"))
    box.submit()
    wait.until(lambda d: unit.standard_address in d.find_element(By.ID, "results").text)
    newest = browser.find_elements(By.CSS_SELECTOR, "#results .card")[0]
    assert to_persian_digits(f"{code[:5]}-{code[5:]}") in newest.text
    markers = browser.find_elements(By.CSS_SELECTOR, "#map .leaflet-marker-icon")
    assert len(markers) == 1  # the new result replaced the old marker

    # The offline basemap drew the boundaries (vector paths on the map's canvas or SVG).
    wait.until(lambda d: d.execute_script(
        "return document.querySelectorAll('#map canvas, #map svg path').length") > 0)
    _screenshot(browser, tmp_path, "search-page")
    errors = [e for e in browser.get_log("browser") if e.get("level") == "SEVERE"]
    assert not errors, errors

    # A postcode too short is refused in Persian only: the service's rule, in Persian, with Persian digits.
    box.clear()
    box.send_keys("12345")
    box.submit()
    wait.until(lambda d: d.find_element(By.ID, "message").is_displayed())
    refusal = browser.find_element(By.ID, "message").text
    assert "۱۲۳۴۵" in refusal and "۱۰ رقم" in refusal, refusal
    assert not re.search(r"[A-Za-z0-9]", refusal), refusal
