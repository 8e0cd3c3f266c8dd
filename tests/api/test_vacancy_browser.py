"""The vacancy board's filters in Chromium, per role: choose filters on the form, read areas
and kinds in words, download what is shown; a refuge stays hidden from Housing Options
whichever area they pick. Screenshots land in test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

import re
from typing import Any

import pytest

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


def choose(browser: Any, name: str, words: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, f"filter-{name}")).select_by_visible_text(words)


def apply(browser: Any) -> None:
    """Submit the filters and wait for the new board (the old page gone)."""
    click_for_new_page(browser, "apply-filters")
    wait_for(browser, "vacancies")


def area_names(browser: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    options = browser.find_elements(By.CSS_SELECTOR, "#filter-area option")
    return [o.text for o in options if o.get_attribute("value")]


@pytest.mark.parametrize("role", [Role.housing_options, Role.coordinator])
def test_the_board_filters_on_screen_by_name(browser: Any, server: str, role: Role) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, role)
    browser.get(f"{server}/vacancies")
    board = text_of(browser, "vacancies")
    assert not re.search(r"\bA\d\d\b", board)
    assert "adult_mixed" not in board and "24_7" not in board
    screenshot(browser, f"vacancies-{role.value}")

    areas = area_names(browser)
    assert areas and not any(re.fullmatch(r"A\d\d", a) for a in areas)
    for area in areas:
        choose(browser, "area", area)
        apply(browser)
        shown = text_of(browser, "vacancies")
        assert "Confidential address" not in shown
        rows = browser.find_elements(By.CSS_SELECTOR, "#vacancies tr")[1:]
        if rows and not browser.find_elements(By.ID, "no-units"):
            assert all(area in row.text for row in rows), area
        if role is Role.coordinator and "Refuge" in shown:
            screenshot(browser, "vacancies-coordinator-refuge-area")
    assert "Refuge" not in text_of(browser, "vacancies") or role is Role.coordinator

    browser.get(f"{server}/vacancies")
    choose(browser, "gender_policy", "Women only")
    choose(browser, "staffing", "Staffed day and night")
    apply(browser)
    rows = browser.find_elements(By.CSS_SELECTOR, "#vacancies tr")[1:]
    assert rows
    if not browser.find_elements(By.ID, "no-units"):
        assert all("Women only" in r.text and "Staffed day and night" in r.text for r in rows)
    link = browser.find_element(By.CSS_SELECTOR, "#vacancy-downloads a").get_attribute("href")
    assert "gender_policy=women_only" in link and "staffing=24_7" in link
    screenshot(browser, f"vacancies-{role.value}-filtered")
