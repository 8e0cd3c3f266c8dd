"""A stay in Chromium: a coordinator places a person, opens their stay from the person's
page, records the arrival, moves them to another unit, then records a move-out with its
reason and destination. Screenshots land in test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

from typing import Any

import pytest

from api.security import Role
from tests.api.test_import_and_accounts_browser import click_for_new_page, message_saying
from tests.api.test_pages import browser, screenshot, server, sign_in, text_of, wait_for

__all__ = ["browser", "server"]  # the fixtures, shared with the other page tests


def test_coordinator_records_arrival_move_and_move_out(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, server, Role.coordinator)
    browser.get(f"{server}/referrals")
    links = [
        a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#referrals a")
    ]
    for link in links:
        browser.get(link)
        buttons = browser.find_elements(By.CSS_SELECTOR, "form[action$='/place'] button")
        if buttons:
            break
    else:
        pytest.fail("no referral with a safe place in the demo")
    buttons[0].click()
    wait_for(browser, "manage-stay").click()
    assert "not arrived yet" in wait_for(browser, "stay-now").text
    browser.find_element(By.ID, "record-arrival").click()
    assert "Arrival recorded." in message_saying(browser, "Arrival recorded.")

    choices = Select(browser.find_element(By.ID, "transfer-to"))
    here = text_of(browser, "stay-now")
    targets = [o for o in choices.options[1:] if o.text.split(" — ")[0] not in here]
    moved = False
    for option in targets[:25]:
        Select(browser.find_element(By.ID, "transfer-to")).select_by_value(
            option.get_attribute("value")
        )
        browser.find_element(By.ID, "transfer-reason").send_keys("closer to family")
        click_for_new_page(browser, "record-transfer")
        message = wait_for(browser, "message").text
        if message.startswith("Moved."):
            moved = True
            break
        assert message.startswith("Not recorded:")  # a rule said no, and why
        screenshot(browser, "stay-move-refused", "message")
    assert moved, "no other unit would take this person"
    assert "moved here from" in text_of(browser, "stay-history")

    Select(browser.find_element(By.ID, "move-out-reason")).select_by_value("planned_move_on")
    Select(browser.find_element(By.ID, "move-out-destination")).select_by_value("social_housing")
    browser.find_element(By.ID, "record-move-out").click()
    assert "Move-out recorded." in message_saying(browser, "Move-out recorded.")
    now = text_of(browser, "stay-now")
    assert "planned move-on" in now and "social housing" in now
    screenshot(browser, "stay-moved-out")


def test_commissioner_reads_the_returns_with_plots_and_counts(browser: Any, server: str) -> None:
    sign_in(browser, server, Role.commissioner)
    browser.get(f"{server}/returns")
    summary = wait_for(browser, "returns-summary").text
    assert "referrals in" in summary and "Women-safe share of bed-spaces" in summary
    assert "Kaplan" in text_of(browser, "returns-waits")
    assert browser.execute_script("return document.getElementById('waiting-plot').naturalWidth") > 0
    screenshot(browser, "returns")
