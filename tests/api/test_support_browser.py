"""Support at home in Chromium: a person who asks for support only sees the "support only"
option on their page beside (here: instead of) bed-spaces, with its reasons; the coordinator
starts it, the team's caseload page lists them, and the support is ended with a date and
reason. Screenshots land in test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

from typing import Any

import httpx

from api.demo import DEMO_LOGINS
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


def _coordinator(server: str) -> dict[str, str]:
    password = next(p for p, role in DEMO_LOGINS.values() if role is Role.coordinator)
    with httpx.Client(base_url=server) as client:
        token = client.post(
            "/api/auth/token", data={"username": "coordinator", "password": password}
        ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _support_team_and_person(server: str, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Through the API: a waiting person who could be supported at home by a navigator or
    floating team with room; (referral, team)."""
    with httpx.Client(base_url=server) as client:
        teams = client.get("/api/support-teams", headers=headers).json()
        team = next(
            t
            for t in teams
            if t["kind"] != "intensive" and t["caseload_capacity"] > t["current_caseload"] + 1
        )
        waiting = client.get("/api/referrals?status=waiting", headers=headers).json()
        person = next(
            r
            for r in waiting
            if not r["keep_together"]
            and not r["wants_female_worker"]
            and r["pathway"] != "housing_first"
            and team["area"] not in r["excluded_areas"]
        )
    return person["id"], team


def test_a_coordinator_gives_support_at_home_and_ends_it(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    headers = _coordinator(server)
    person, found = _support_team_and_person(server, headers)
    team = found["id"]
    sign_in(browser, server, Role.coordinator)
    # On the referral's form: they ask for support at home only, where they live.
    browser.get(f"{server}/referrals/{person}/edit")
    Select(wait_for(browser, "f-wants")).select_by_value("support_only")
    Select(browser.find_element(By.ID, "f-home-area")).select_by_value(found["area"])
    click_for_new_page(browser, "save-referral")
    browser.get(f"{server}/referrals/{person}")
    options = wait_for(browser, "support-options")
    assert "where the person lives" in options.text
    assert "places left in its caseload" in options.text
    assert browser.find_elements(By.ID, "no-placements")  # no bed-space: support only
    screenshot(browser, "support-only-option", "support-only")

    click_for_new_page(browser, f"support-with-{team}")
    assert f"Support at home from team {team} has started." in wait_for(browser, "message").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#support-placements tr.support-placement")
    assert len(rows) == 1 and "own tenancy" in rows[0].text and "open" in rows[0].text
    screenshot(browser, "support-at-home-on-the-persons-page")

    browser.get(f"{server}/support-teams/{team}")
    assert person in text_of(browser, "caseload-at-home")
    screenshot(browser, "support-team-caseload")

    started = httpx.get(
        f"{server}/api/support-placements?referral={person}", headers=headers
    ).json()[0]
    placement_id = started["id"]
    browser.get(f"{server}/referrals/{person}")
    browser.find_element(By.ID, f"end-support-open-{placement_id}").click()
    browser.execute_script(
        "document.getElementById(arguments[0]).value = arguments[1];",
        f"end-support-on-{placement_id}",
        started["started"],
    )
    Select(browser.find_element(By.ID, f"end-support-reason-{placement_id}")).select_by_value(
        "moved_into_accommodation"
    )
    click_for_new_page(browser, f"end-support-{placement_id}")
    ended = wait_for(browser, "support-placements").text
    assert "moved into accommodation" in ended
    screenshot(browser, "support-ended", "support-at-home")
