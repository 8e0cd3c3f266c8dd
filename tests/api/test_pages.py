"""The web pages in a real headless Chromium (Debian's `chromium` and `chromium-driver`),
signed in as each role, against uvicorn on a free loopback port."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from api.app import create_app
from api.demo import DEMO_LOGINS
from api.security import Role
from tests.api.conftest import free_port, settings_for

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
LOGIN = {role: (name, password) for name, (password, role) in DEMO_LOGINS.items()}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("pages") / "pages.db"
    app = create_app(settings_for(f"sqlite:///{path}", login_attempts_per_minute=100))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(15)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.skip("Debian chromium and chromium-driver are not installed")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    profile = tempfile.mkdtemp(prefix="bedmatch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=DriverService(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_window_size(1280, 1400)  # a desk screen, so screenshots show whole sections
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def sign_in(browser: Any, server: str, role: Role) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{server}/login")
    username, password = LOGIN[role]
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(password)
    browser.find_element(By.ID, "sign-in").click()
    assert role.value in wait_for(browser, "whoami").text


def wait_for(browser: Any, element_id: str) -> Any:
    """The element, once the page that has it has loaded (a click does not wait for that)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, 15).until(ready.presence_of_element_located((By.ID, element_id)))


def text_of(browser: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return str(browser.find_element(By.ID, element_id).text)


# Screenshots of the pages as the tests leave them, for people to look at (not committed).
SCREENSHOTS = Path(os.environ.get("BEDMATCH_SCREENSHOTS", "test-artifacts/screenshots"))


def screenshot(browser: Any, name: str, element_id: str | None = None) -> None:
    """The window, or one element of the page (scrolled to) where `element_id` is given."""
    from selenium.webdriver.common.by import By

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    if element_id is None:
        browser.save_screenshot(path)
    else:
        browser.find_element(By.ID, element_id).screenshot(path)


def click_for_new_page(browser: Any, element_id: str, timeout_s: float = 30) -> None:
    """Click a button or link that loads a page, and wait until the page it was on is gone:
    the new page may carry an element of the same id (a "Saved." message), so waiting for
    that id alone can read the old page."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.ID, element_id).click()

    def gone(_: Any) -> bool:
        try:
            old.is_enabled()
        except WebDriverException:  # stale, or (chromedriver) "node not in the document"
            return True
        return False

    WebDriverWait(browser, timeout_s).until(gone)


def is_forbidden(browser: Any, server: str, path: str) -> bool:
    from selenium.webdriver.common.by import By

    browser.get(server + path)
    return bool(browser.find_elements(By.ID, "forbidden"))


def test_a_wrong_password_stays_on_the_sign_in_page(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{server}/referrals")
    assert "/login" in browser.current_url
    browser.find_element(By.ID, "username").send_keys("coordinator")
    browser.find_element(By.ID, "password").send_keys("not-the-password")
    browser.find_element(By.ID, "sign-in").click()
    assert "wrong username or password" in wait_for(browser, "message").text


def test_coordinator_ranks_a_referral_and_overrides_with_a_reason(
    browser: Any, server: str
) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, Role.coordinator)
    browser.get(f"{server}/referrals")
    links = [
        a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#referrals a")
    ]
    assert links
    for link in links:
        browser.get(link)
        if len(browser.find_elements(By.CSS_SELECTOR, "tr.ranked-row")) >= 2:
            break
    else:
        pytest.fail("no referral with two safe placements in the demo")
    screenshot(browser, "referral-page")
    ranked = text_of(browser, "ranked")
    assert "Cost to others" in ranked
    # One row per unit, each reason once in its row, units by name, never by code.
    for row in browser.find_elements(By.CSS_SELECTOR, "tr.ranked-row"):
        reasons = [li.text for li in row.find_elements(By.CSS_SELECTOR, "ul.reasons li")]
        assert len(reasons) == len(set(reasons)), reasons
    units = browser.find_elements(By.CSS_SELECTOR, "#excluded td:last-child li")
    assert units
    for unit in units:  # a unit is named, never shown as its bare code
        assert not re.match(r"U\d{4}\b", unit.text), unit.text
    screenshot(browser, "referral-ruled-out", "excluded")
    needs = text_of(browser, "needs")
    for label in ("Women-only space", "24-hour staffing", "Accessible bed-space", "Never in"):
        assert label in needs
    options = browser.find_elements(By.CSS_SELECTOR, "#override-bedspace option")
    options[-1].click()
    chosen = options[-1].get_attribute("value")
    browser.find_element(By.ID, "override-reason").send_keys("Close to her sister")
    browser.find_element(By.ID, "override-submit").click()
    assert f"Placed in bed-space {chosen}" in wait_for(browser, "message").text
    assert "(placed)" in browser.find_element(By.TAG_NAME, "h1").text
    assert f"(bed-space {chosen}) since" in text_of(browser, "where-now")
    # The placed person stays findable, and the list says where they are.
    placed = text_of(browser, "referral-id")
    browser.get(f"{server}/referrals?status=placed&q={placed}")
    assert "1 person found" in text_of(browser, "found-count")
    assert "since" in text_of(browser, "referrals")
    screenshot(browser, "referrals-found")


def test_housing_options_see_the_board_and_no_people(browser: Any, server: str) -> None:
    sign_in(browser, server, Role.housing_options)
    browser.get(f"{server}/vacancies")
    assert "free now" in text_of(browser, "totals")
    board = text_of(browser, "vacancies")
    assert "Confidential address" in board
    assert text_of(browser, "move-outs")
    # The download links work with the page's own sign-in (its cookie), and the sheet hides
    # refuges as the page does.
    import httpx
    from selenium.webdriver.common.by import By

    link = browser.find_element(By.CSS_SELECTOR, "#vacancy-downloads a")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    sheet = httpx.get(link.get_attribute("href"), cookies=cookies)
    assert sheet.status_code == 200 and sheet.headers["content-type"].startswith("text/csv")
    assert "Confidential address" in sheet.text
    for path in ("/referrals", "/runs", "/referrals/R00002"):
        assert is_forbidden(browser, server, path), path


def test_commissioners_see_figures_only(browser: Any, server: str) -> None:
    sign_in(browser, server, Role.commissioner)
    browser.get(f"{server}/stats")
    assert "Bed-spaces" in text_of(browser, "stats")
    browser.get(f"{server}/vacancies")
    assert text_of(browser, "vacancies")
    for path in ("/referrals", "/runs"):
        assert is_forbidden(browser, server, path), path


def test_admin_runs_a_batch_watches_progress_and_accepts_it(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import Select, WebDriverWait

    sign_in(browser, server, Role.admin)
    browser.get(f"{server}/runs")
    Select(browser.find_element(By.ID, "backend")).select_by_value("greedy")
    limit = browser.find_element(By.ID, "time-limit")
    limit.clear()
    limit.send_keys("2")
    browser.find_element(By.ID, "start-run-button").click()
    assert wait_for(browser, "progress-box")
    WebDriverWait(browser, 30).until(ready.presence_of_element_located((By.ID, "accept-all")))
    assert text_of(browser, "run-status") == "done"
    proposals = len(browser.find_elements(By.CSS_SELECTOR, "input.pick"))
    assert proposals > 0
    fairness = text_of(browser, "equity")  # each group by name, each share with its count
    assert "Everyone" in fairness and "Domestic abuse victims" in fairness
    assert f"{proposals} of " in fairness
    screenshot(browser, "run-fairness", "equity")
    screenshot(browser, "run-proposals")
    browser.find_element(By.ID, "accept-all").click()
    assert (
        f"Offered places to {proposals} people from this run" in wait_for(browser, "message").text
    )


def test_coordinator_creates_and_edits_a_referral_on_its_form(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(browser, server, Role.coordinator)
    browser.get(f"{server}/referrals")
    browser.find_element(By.ID, "new-referral").click()
    wait_for(browser, "referral-form")
    browser.find_element(By.ID, "f-id").send_keys("FORM1")
    age = browser.find_element(By.ID, "f-age")
    age.send_keys("15")  # below every unit's band: the model says why, beside the field
    Select(browser.find_element(By.ID, "f-gender")).select_by_value("woman")
    Select(browser.find_element(By.ID, "f-risk")).select_by_value("medium")
    browser.find_element(By.ID, "f-needs_women_only").click()
    browser.execute_script("document.getElementById('f-age').removeAttribute('min')")
    browser.find_element(By.ID, "save-referral").click()
    wait_for(browser, "form-errors")
    errors = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".field-error")]
    assert errors and "greater than or equal to 16" in errors[0]
    screenshot(browser, "referral-form-error", "referral-form")
    age = browser.find_element(By.ID, "f-age")
    age.clear()
    age.send_keys("19")
    browser.find_element(By.ID, "save-referral").click()
    assert "Saved." in wait_for(browser, "message").text
    needs = text_of(browser, "needs")
    assert "Women-only space: needed" in needs and "Risk: medium" in needs

    browser.find_element(By.ID, "edit-referral").click()
    wait_for(browser, "referral-form")
    support = browser.find_element(By.ID, "f-support-hours")
    support.clear()
    support.send_keys("6")
    browser.find_element(By.ID, "save-referral").click()
    assert "Saved." in wait_for(browser, "message").text
    assert "Support: 6 hours a week" in text_of(browser, "needs")
    # Still women-only: an edit stores only what changed.
    assert "Women-only space: needed" in text_of(browser, "needs")


def test_admin_reads_the_audit_trail_and_finds_a_weakening(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    # A coordinator lowers a person's risk and priority on the form; the admin finds it, with
    # the old and new values.
    sign_in(browser, server, Role.coordinator)
    browser.get(f"{server}/referrals/new")
    browser.find_element(By.ID, "f-id").send_keys("AUDIT1")
    browser.find_element(By.ID, "f-age").send_keys("30")
    Select(browser.find_element(By.ID, "f-gender")).select_by_value("man")
    Select(browser.find_element(By.ID, "f-risk")).select_by_value("high")
    priority = browser.find_element(By.ID, "f-priority")
    priority.clear()
    priority.send_keys("4")
    browser.find_element(By.ID, "save-referral").click()
    assert "Saved." in wait_for(browser, "message").text
    browser.find_element(By.ID, "edit-referral").click()
    wait_for(browser, "referral-form")
    Select(browser.find_element(By.ID, "f-risk")).select_by_value("low")
    priority = browser.find_element(By.ID, "f-priority")
    priority.clear()
    priority.send_keys("1")
    browser.find_element(By.ID, "save-referral").click()
    assert "Saved." in wait_for(browser, "message").text

    sign_in(browser, server, Role.admin)
    browser.find_element(By.LINK_TEXT, "Audit trail").click()
    wait_for(browser, "audit-filters")
    browser.find_element(By.ID, "audit-subject").send_keys("AUDIT1")
    Select(browser.find_element(By.ID, "audit-action")).select_by_value("update")
    browser.find_element(By.CSS_SELECTOR, "#audit-filters button").click()
    # A click does not wait for the page it asks for: wait for the filtered one.
    WebDriverWait(browser, 15).until(lambda b: "action=update" in b.current_url)
    trail = wait_for(browser, "audit").text
    assert "coordinator" in trail and "risk: high -> low; priority: 4 -> 1" in trail
    Select(browser.find_element(By.ID, "audit-action")).select_by_value("weaken")
    browser.find_element(By.CSS_SELECTOR, "#audit-filters button").click()
    WebDriverWait(browser, 15).until(lambda b: "action=weaken" in b.current_url)
    wait_for(browser, "audit")
    weakened = sorted(
        row.text.split("AUDIT1 ")[-1]
        for row in browser.find_elements(By.CSS_SELECTOR, "#audit tr.weakened")
    )
    assert weakened == ["priority: 4 -> 1", "risk: high -> low"]
    screenshot(browser, "audit-trail")


def test_commissioner_reads_the_figures_with_counts_and_a_plot(browser: Any, server: str) -> None:
    sign_in(browser, server, Role.commissioner)
    browser.get(f"{server}/stats")
    women = text_of(browser, "women-safe")
    assert re.search(r"\d+ of \d+ \(\d+%\): (meets|below) the target", women), women
    cohorts = text_of(browser, "cohorts")
    assert "Everyone" in cohorts and "Domestic abuse victims" in cohorts
    # Small groups are not counted to the person for a role that sees no personal data.
    assert not re.search(r"\b[1-4] (–|\d+ days)", cohorts), cohorts
    loaded = browser.execute_script(
        "const img = document.getElementById('waiting-plot');"
        "return img.complete && img.naturalWidth > 0;"
    )
    assert loaded
    screenshot(browser, "figures")


def test_the_demo_says_so_on_every_page_and_sign_out_ends_the_session(
    browser: Any, server: str
) -> None:
    import httpx
    from selenium.webdriver.common.by import By

    browser.delete_all_cookies()
    browser.get(f"{server}/login")
    assert "Demo" in text_of(browser, "demo-banner")
    sign_in(browser, server, Role.coordinator)
    for path in ("/", "/referrals", "/vacancies", "/runs", "/stats"):
        browser.get(server + path)
        banner = browser.find_element(By.ID, "demo-banner")
        assert banner.is_displayed() and "Never enter real" in banner.text, path
    cookie = browser.get_cookie("bedmatch_token")["value"]
    signed_in = httpx.get(f"{server}/api/auth/me", cookies={"bedmatch_token": cookie})
    assert signed_in.status_code == 200
    browser.find_element(By.CSS_SELECTOR, "header form button").click()
    assert wait_for(browser, "login-form")
    # The cookie the browser held is refused now, wherever it is presented.
    after = httpx.get(f"{server}/api/auth/me", cookies={"bedmatch_token": cookie})
    assert after.status_code == 401
