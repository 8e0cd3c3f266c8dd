"""Arrivals and move-outs due, in Chromium: a coordinator reaches it from the menu, reads
names, and follows a person to their stay page. Screenshots land in
test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

from typing import Any

from api.security import Role
from tests.api.test_pages import browser, is_forbidden, screenshot, server, sign_in, wait_for

__all__ = ["browser", "server"]  # the fixtures, shared with the other page tests


def test_a_coordinator_follows_a_person_due_to_leave_to_their_stay(
    browser: Any, server: str
) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, Role.coordinator)
    browser.find_element(By.LINK_TEXT, "Arrivals and move-outs").click()
    assert "expected to leave" in wait_for(browser, "leaving-count").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#leaving a")
    assert rows, "the demo has residents due to leave"
    screenshot(browser, "stays-due-coordinator")
    rows[0].click()
    wait_for(browser, "move-out-form")
    assert "/residents/" in browser.current_url


def test_housing_options_do_not_see_who_is_due(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, Role.housing_options)
    assert not browser.find_elements(By.LINK_TEXT, "Arrivals and move-outs")
    assert is_forbidden(browser, server, "/arrivals-and-move-outs")
