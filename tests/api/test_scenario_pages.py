# ruff: noqa: F811 - the browser and server fixtures are test_pages' own, imported to share them
"""The commissioner's pages in a real headless Chromium: the home page, and a scenario made,
changed, refused when unsafe, run with progress, read and compared. Runs are tiny."""

from __future__ import annotations

import re
from typing import Any

from api.security import Role
from tests.api.test_pages import (  # noqa: F401 - fixtures
    browser,
    click_for_new_page,
    is_forbidden,
    screenshot,
    server,
    sign_in,
    text_of,
    wait_for,
)


def image_loaded(browser: Any, element_id: str) -> bool:
    return bool(
        browser.execute_script(
            f"const img = document.getElementById('{element_id}');"
            "return img.complete && img.naturalWidth > 0;"
        )
    )


def plots_loaded(browser: Any) -> int:
    return int(
        browser.execute_script(
            "return [...document.querySelectorAll('img.scenario-plot')]"
            ".filter(i => i.complete && i.naturalWidth > 0).length;"
        )
    )


def fill(browser: Any, element_id: str, value: str) -> None:
    from selenium.webdriver.common.by import By

    field = browser.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(value)


def submit(browser: Any, button_id: str) -> None:
    """Click a button that loads a page, and wait until the page it was on is gone: the new
    page may carry an element of the same id (a "Saved." message), so waiting for that id
    alone can read the old page."""
    click_for_new_page(browser, button_id)


def women_only_unit(browser: Any) -> str:
    from selenium.webdriver.common.by import By

    options = browser.find_elements(By.CSS_SELECTOR, "#add-unit option")
    return str(next(o.get_attribute("value") for o in options if "(women only)" in o.text))


def make_and_run(browser: Any, server: str, name: str, women: str = "1") -> str:
    """A scenario made on the page, set tiny, run; its page's address once it is done."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{server}/scenarios")
    browser.find_element(By.ID, "scenario-name").send_keys(name)
    submit(browser, "create-scenario")
    wait_for(browser, "run-settings-form")
    fill(browser, "horizon-days", "40")
    fill(browser, "replications", "2")
    submit(browser, "save-run-settings")
    assert "Saved." in wait_for(browser, "message").text
    if women != "1":
        fill(browser, "scale-women", women)
        submit(browser, "save-demand")
        assert "Saved." in wait_for(browser, "message").text
        assert f"Demand from women × {women}" in text_of(browser, "plan-changes")
    submit(browser, "run-scenario")
    assert wait_for(browser, "progress-box")
    WebDriverWait(browser, 60).until(ready.presence_of_element_located((By.ID, "scenario-figures")))
    assert text_of(browser, "scenario-status") == "done"
    return str(browser.current_url)


def test_commissioner_makes_changes_runs_and_compares_scenarios(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    sign_in(browser, server, Role.commissioner)
    first = make_and_run(browser, server, "base")
    assert "commissioner" in text_of(browser, "ran-by") and text_of(browser, "seed") == "1"
    cohorts = text_of(browser, "scenario-cohorts")
    assert "Everyone" in cohorts and "Women" in cohorts and "Domestic abuse victims" in cohorts
    WebDriverWait(browser, 30).until(lambda b: plots_loaded(b) == 6)
    screenshot(browser, "scenario-page")
    screenshot(browser, "scenario-figures", "scenario-figures")

    # A refuge turned mixed: refused with the rule, and the plan keeps what it had.
    units = Select(browser.find_element(By.ID, "unit-choice"))
    refuge = next(o for o in units.options if "(refuge)" in o.text)
    units.select_by_value(refuge.get_attribute("value"))
    Select(browser.find_element(By.ID, "unit-gender-policy")).select_by_value("mixed")
    submit(browser, "save-unit")
    refusal = wait_for(browser, "message").text
    assert "Not changed" in refusal and "refuge" in refusal, refusal
    assert "None yet" in text_of(browser, "plan-changes")
    screenshot(browser, "scenario-refused", "message")

    # More women-only places: the page says what the share becomes before anything is run.
    fill(browser, "add-count", "30")
    Select(browser.find_element(By.ID, "add-unit")).select_by_value(women_only_unit(browser))
    submit(browser, "save-beds")
    assert "Saved." in wait_for(browser, "message").text
    effect = text_of(browser, "plan-effect")
    shares = r"Women-only bed-spaces \d+ of 120 \(\d+%\) \d+ of 150 \(\d+%\)"
    assert re.search(shares, effect), effect
    screenshot(browser, "scenario-changed")
    assert not browser.find_elements(By.ID, "scenario-figures")  # they described the old plan

    # A women-only share out of reach: the page says the most a plan can reach.
    fill(browser, "women-only-percent", "100")
    submit(browser, "save-beds")
    refusal = wait_for(browser, "message").text
    assert "Not changed" in refusal and "without moving anyone" in refusal, refusal
    screenshot(browser, "scenario-women-only-share-refused", "message")
    submit(browser, "run-scenario")
    WebDriverWait(browser, 60).until(lambda b: b.find_elements(By.ID, "scenario-figures"))
    assert "150" in text_of(browser, "scenario-portfolio")

    second = make_and_run(browser, server, "women x2", women="2")
    browser.get(f"{server}/scenarios")
    for pick in browser.find_elements(By.CSS_SELECTOR, "input.compare-pick")[:2]:
        pick.click()
    submit(browser, "compare-button")
    wait_for(browser, "scenario-cohorts")
    compared = text_of(browser, "scenario-portfolio")
    assert "base" in compared and "women x2" in compared
    WebDriverWait(browser, 30).until(lambda b: plots_loaded(b) == 6)
    screenshot(browser, "scenarios-compared")
    links = [
        a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "#downloads a")
    ]
    assert [re.search(r"format=(\w+)", link).group(1) for link in links] == [  # type: ignore[union-attr]
        "md",
        "html",
        "csv",
        "xlsx",
    ]

    browser.get(f"{server}/")
    headline = text_of(browser, "headline")
    assert re.search(r"Women-safe .* \d+ of \d+ \(\d+%\): (meets|below) the 30% target", headline)
    assert re.search(r"priority 5: \d+", headline)
    assert "women x2" in text_of(browser, "scenario-list")
    for plot in ("portfolio-plot", "waiting-plot", "scenarios-plot"):
        WebDriverWait(browser, 30).until(lambda b, p=plot: image_loaded(b, p))
    screenshot(browser, "commissioner-home")
    assert first != second


def test_admins_may_plan_and_other_roles_may_not(browser: Any, server: str) -> None:
    for role in (Role.housing_options, Role.coordinator):
        sign_in(browser, server, role)
        for path in ("/scenarios", "/scenarios/compare", "/scenarios/1"):
            assert is_forbidden(browser, server, path), (role, path)
        browser.get(f"{server}/")
        assert not browser.find_elements("id", "portfolio-headline")
    sign_in(browser, server, Role.admin)
    browser.get(f"{server}/scenarios")
    assert wait_for(browser, "new-scenario")
    browser.get(f"{server}/")
    assert wait_for(browser, "headline")
