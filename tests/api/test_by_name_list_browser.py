"""The By Name List in Chromium, per role: a coordinator reaches it from the menu, reads the
counts and the people, sees who must go to the panel, filters and records contact; a
commissioner sees counts only; Housing Options neither sees it in the menu nor may open it.
Screenshots land in test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

from typing import Any

from api.security import Role
from tests.api.test_pages import (
    browser,
    click_for_new_page,
    is_forbidden,
    screenshot,
    server,
    sign_in,
    wait_for,
)

__all__ = ["browser", "server"]  # the fixtures, shared with the other page tests


def test_a_coordinator_reads_the_list_filters_it_and_records_contact(
    browser: Any, server: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, server, Role.coordinator)
    browser.find_element(By.LINK_TEXT, "By Name List").click()
    assert "150 people on the list" in wait_for(browser, "list-total").text
    counts = browser.find_element(By.ID, "list-counts").text
    assert "priority" in counts and "40" in counts and "110" in counts
    assert (
        "raise at the high harm / high vulnerability panel" in wait_for(browser, "panel-count").text
    )
    flagged = browser.find_elements(By.CSS_SELECTOR, "#list-people tr.no-safe-option")
    assert flagged and "gender safety" in flagged[0].text
    screenshot(browser, "by-name-list-coordinator")

    Select(browser.find_element(By.NAME, "status")).select_by_value("inactive")
    # The filtered list is a new page with the same ids: wait until the old one is gone.
    show = browser.find_element(By.CSS_SELECTOR, "#list-filters button")
    browser.execute_script("arguments[0].id = 'show-filtered'", show)
    click_for_new_page(browser, "show-filtered")
    wait_for(browser, "list-people")
    rows = browser.find_elements(By.CSS_SELECTOR, "#list-people tr[data-member]")
    assert rows and all("inactive" in r.find_element(By.CLASS_NAME, "status").text for r in rows)
    member = rows[0].get_attribute("data-member")
    screenshot(browser, "by-name-list-inactive", "list-people")

    button = rows[0].find_element(By.CSS_SELECTOR, "form.contact button")
    browser.execute_script("arguments[0].id = 'contact-now'", button)
    click_for_new_page(browser, "contact-now")
    assert "Contact recorded." in browser.find_element(By.CLASS_NAME, "message").text
    row = browser.find_element(By.CSS_SELECTOR, f'#list-people tr[data-member="{member}"]')
    assert "active" in row.find_element(By.CLASS_NAME, "status").text
    assert "0 days" in row.text


def test_a_commissioner_sees_the_counts_and_no_people(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, Role.commissioner)
    browser.find_element(By.LINK_TEXT, "By Name List").click()
    wait_for(browser, "list-counts")
    assert not browser.find_elements(By.ID, "list-people")
    assert "Counts and shares only" in browser.page_source
    screenshot(browser, "by-name-list-commissioner")


def test_housing_options_neither_see_nor_open_the_list(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, Role.housing_options)
    assert not browser.find_elements(By.LINK_TEXT, "By Name List")
    assert is_forbidden(browser, server, "/by-name-list")
