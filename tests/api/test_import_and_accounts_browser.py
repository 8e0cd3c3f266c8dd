"""The import and accounts pages in Chromium: a coordinator checks a sheet, reads what it
would change and imports it; an admin adds an account and closes one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.security import Role
from tests.api.test_pages import (
    browser,
    click_for_new_page,
    is_forbidden,
    screenshot,
    server,
    sign_in,
    text_of,
    wait_for,
)

__all__ = [
    "browser",
    "click_for_new_page",
    "server",
]  # the fixtures, shared with the other page tests


def message_saying(browser: Any, words: str) -> str:
    """The page's message once it says `words`: a click loads a new page, and the old one
    may still show a message of the same id for a moment (or be swapped out as it is read)."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def said(b: Any) -> str | bool:
        try:
            found = b.find_elements(By.ID, "message")
            return found[0].text if found and words in found[0].text else False
        except WebDriverException:  # the page changed under the read: look again
            return False

    return str(WebDriverWait(browser, 15).until(said))


def test_coordinator_checks_a_sheet_reads_the_changes_and_imports_it(
    browser: Any, server: str, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sheet = tmp_path / "referrals.csv"
    sheet.write_text(
        "id,referred,age,gender,risk,needs_women_only,priority\n"
        "RSHEET1,07/12/2026,27,woman,high,yes,5\n"
        "RSHEET2,2026-12-01,19,man,,no,2\n"
    )
    sign_in(browser, server, Role.coordinator)
    browser.get(f"{server}/import")
    Select(wait_for(browser, "import-kind")).select_by_value("referrals")
    browser.find_element(By.ID, "import-file").send_keys(str(sheet))
    browser.find_element(By.ID, "import-check").click()
    problems = wait_for(browser, "import-problems").text
    assert "Row 3, risk" in problems  # no risk is ever assumed
    screenshot(browser, "import-problems")

    sheet.write_text(
        "id,referred,age,gender,risk,needs_women_only,priority\n"
        "RSHEET1,07/12/2026,27,woman,high,yes,5\n"
        "RSHEET2,2026-12-01,19,man,low,no,2\n"
    )
    Select(browser.find_element(By.ID, "import-kind")).select_by_value("referrals")
    browser.find_element(By.ID, "import-file").send_keys(str(sheet))
    browser.find_element(By.ID, "import-check").click()
    preview = wait_for(browser, "import-preview").text
    assert "2 new" in preview and "RSHEET1" in preview and "Nothing is stored yet" in preview
    screenshot(browser, "import-preview", "import-preview")
    browser.find_element(By.ID, "import-now").click()
    assert "2 records created" in message_saying(browser, "records created")
    screenshot(browser, "import-done")
    browser.get(f"{server}/referrals/RSHEET1")
    needs = wait_for(browser, "needs").text
    assert "Women-only space: needed" in needs and "Risk: high" in needs


def test_admin_adds_an_account_and_closes_one(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, server, Role.admin)
    browser.get(f"{server}/admin/users")
    wait_for(browser, "add-account")
    browser.find_element(By.ID, "new-username").send_keys("jo.b")
    Select(browser.find_element(By.ID, "new-role")).select_by_value("commissioner")
    browser.find_element(By.ID, "new-password").send_keys("short")
    browser.find_element(By.ID, "add-account-button").click()
    assert "at least 12 characters" in wait_for(browser, "error-password").text
    browser.find_element(By.ID, "new-password").send_keys("a-long-passphrase")
    browser.find_element(By.ID, "add-account-button").click()
    assert "Account jo.b added." in message_saying(browser, "added.")
    row = text_of(browser, "account-jo.b")
    assert "Commissioner" in row and "can sign in" in row
    browser.find_element(By.ID, "close-jo.b").click()
    assert "Close the account jo.b?" in wait_for(browser, "confirm-close").text
    screenshot(browser, "accounts-confirm-close", "confirm-close")
    browser.find_element(By.ID, "confirm-close-button").click()
    assert "closed" in message_saying(browser, "closed")
    assert "closed" in text_of(browser, "account-jo.b")
    screenshot(browser, "accounts")
    sign_in(browser, server, Role.coordinator)
    assert is_forbidden(browser, server, "/admin/users")
