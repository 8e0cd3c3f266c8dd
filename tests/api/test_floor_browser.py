"""The price of a cohort floor in Chromium: a coordinator re-solves a finished batch run with
a floor from its page and reads both solves side by side. Screenshots land in
test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

from typing import Any

from api.security import Role
from tests.api.test_pages import (
    browser,
    click_for_new_page,
    screenshot,
    server,
    sign_in,
    text_of,
    wait_for,
)

__all__ = ["browser", "server"]  # the fixtures, shared with the other page tests


def test_a_coordinator_reads_the_price_of_a_floor_beside_the_run(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    sign_in(browser, server, Role.coordinator)
    browser.get(f"{server}/runs")
    Select(browser.find_element(By.ID, "backend")).select_by_value("cpsat")
    limit = browser.find_element(By.ID, "time-limit")
    limit.clear()
    limit.send_keys("5")
    browser.find_element(By.ID, "start-run-button").click()
    WebDriverWait(browser, 60).until(ready.presence_of_element_located((By.ID, "floor-box")))
    browser.find_element(By.CSS_SELECTOR, "#floor-box summary").click()
    Select(browser.find_element(By.ID, "floor-cohort")).select_by_value("high_risk")
    browser.find_element(By.ID, "floor-share").click()
    browser.find_element(By.ID, "floor-percent").send_keys("50")
    screenshot(browser, "run-floor-form", "floor-box")
    click_for_new_page(browser, "floor-submit")
    WebDriverWait(browser, 90).until(ready.presence_of_element_located((By.ID, "price")))
    sentence = text_of(browser, "price-sentence")
    assert sentence.startswith("A floor for high risk or MAPPA (at least 50% placed)")
    assert "against" in sentence  # the group's count with and without the floor
    table = text_of(browser, "price")
    for band in range(1, 6):
        assert f"Band {band}" in table
    assert "Points of fit" in table
    proofs = text_of(browser, "price-proofs")
    assert "Without the floor:" in proofs and "With the floor:" in proofs
    assert wait_for(browser, "floor-of").text.startswith("A re-solve of run")
    screenshot(browser, "run-floor-price", "price-box")
