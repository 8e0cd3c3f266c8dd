"""A coordinator's day with offers, in Chromium: find a person by name, offer them a
bed-space behind a confirmation, record their refusal with its reason, offer the next
place and record it accepted; Housing Options see the held bed-space counted, no person.
Screenshots land in test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

from typing import Any

import pytest

from api.security import Role
from tests.api.test_import_and_accounts_browser import message_saying
from tests.api.test_pages import browser, screenshot, server, sign_in, text_of

__all__ = ["browser", "server"]  # the fixtures, shared with the other page tests


def open_a_person_with_places(browser: Any, server: str) -> str:
    from selenium.webdriver.common.by import By

    browser.get(f"{server}/referrals")
    links = [
        a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#referrals a")
    ]
    for link in links:
        browser.get(link)
        if len(browser.find_elements(By.CSS_SELECTOR, "tr.ranked-row")) >= 2:
            return str(link)
    pytest.fail("no referral with two safe places in the demo")


def offer_the_top_place(browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.find_element(By.CSS_SELECTOR, "summary.offer-top-open").click()
    confirm = browser.find_element(By.CSS_SELECTOR, "button.offer-top")
    assert confirm.is_displayed() and "Confirm: hold" in confirm.text
    confirm.click()
    assert "held for this person" in message_saying(browser, "held for this person")


def test_a_coordinator_offers_records_a_refusal_and_an_acceptance(
    browser: Any, server: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, server, Role.coordinator)
    # The day starts with the 8-hour responses owed (the demo's urgent DA referrals).
    browser.get(f"{server}/")
    owed = browser.find_elements(By.ID, "owed-responses")
    if owed:
        assert "8-hour response" in owed[0].text
    screenshot(browser, "day-0-home")
    link = open_a_person_with_places(browser, server)
    name = text_of(browser, "person-name")
    # Found by name on the list.
    browser.get(f"{server}/referrals?q={name.split()[0]}&status=any")
    assert name in text_of(browser, "referrals")
    screenshot(browser, "day-1-referrals-by-name")

    browser.get(link)
    browser.find_element(By.CSS_SELECTOR, "summary.offer-top-open").click()
    screenshot(browser, "day-2-offer-confirmation", "ranked")
    browser.find_element(By.CSS_SELECTOR, "button.offer-top").click()
    assert "held for this person" in message_saying(browser, "held for this person")
    assert "(offered)" in browser.find_element(By.TAG_NAME, "h1").text
    assert "held until" in text_of(browser, "where-now")
    screenshot(browser, "day-3-offer-open")

    browser.find_element(By.ID, "decline-offer-open").click()
    Select(browser.find_element(By.ID, "decline-reason")).select_by_value("person_refused")
    browser.find_element(By.ID, "decline-offer").click()
    assert "declined" in message_saying(browser, "declined")
    assert "declined: the person refused" in text_of(browser, "offer-history")
    assert "(waiting)" in browser.find_element(By.TAG_NAME, "h1").text
    screenshot(browser, "day-4-refusal-recorded")

    offer_the_top_place(browser)
    browser.find_element(By.ID, "accept-offer-open").click()
    browser.find_element(By.ID, "accept-offer").click()
    assert "accepted" in message_saying(browser, "accepted")
    assert "(placed)" in browser.find_element(By.TAG_NAME, "h1").text
    history = text_of(browser, "offer-history")
    assert "accepted, arriving" in history and "declined: the person refused" in history
    screenshot(browser, "day-5-offer-accepted")

    # Another person's offer stays open: Housing Options see it held, with no person.
    open_a_person_with_places(browser, server)
    offer_the_top_place(browser)
    held_for = text_of(browser, "person-name")
    sign_in(browser, server, Role.housing_options)
    browser.get(f"{server}/vacancies")
    assert int(text_of(browser, "held-total")) >= 1
    assert held_for not in browser.page_source
    screenshot(browser, "day-6-vacancies-held")
