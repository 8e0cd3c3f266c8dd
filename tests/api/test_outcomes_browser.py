"""The outcomes page in Chromium, on a demo with a year of move-outs and returns: a
coordinator reads every share with its count and interval and the plots; a commissioner the
same without small counts; Housing Options has no such page. Screenshots land in
test-artifacts/screenshots/ (not committed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from api.app import create_app
from api.orm import ReferralRow, ResidentRow
from api.security import Role
from tests.api.conftest import free_port, settings_for
from tests.api.test_pages import browser, is_forbidden, screenshot, sign_in, text_of, wait_for

__all__ = ["browser"]  # the fixture, shared with the other page tests

REASONS = [
    ("planned_move_on", "social_housing"),
    ("planned_move_on", "own_tenancy"),
    ("planned_move_on", "private_rented"),
    ("eviction", "rough_sleeping"),
    ("abandonment", "unknown"),
    ("hospital", "unknown"),
]


def a_year_of_departures(session: Any, today: date) -> None:
    """Most residents leave over the past year, for the reasons above in turn; every
    fourth is referred again a month after leaving."""
    present = session.scalars(
        select(ResidentRow).where(ResidentRow.left_on.is_(None)).order_by(ResidentRow.id)
    ).all()
    for index, resident in enumerate(present[: len(present) * 3 // 4]):
        left_on = today - timedelta(days=10 + (index * 353) // len(present))
        stay = 20 + (index * 37) % 200
        resident.arrived = left_on - timedelta(days=stay)
        resident.left_on = left_on
        resident.left_reason, resident.destination = REASONS[index % len(REASONS)]
        if index % 4 == 0:
            session.add(
                ReferralRow(
                    id=f"{resident.id}-again",
                    referred=left_on + timedelta(days=30),
                    age=resident.age,
                    gender=resident.gender,
                    risk=resident.risk,
                    pathway="emergency",
                    case_reference=resident.id,
                )
            )
    session.commit()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("outcomes") / "outcomes.db"
    settings = settings_for(f"sqlite:///{path}", login_attempts_per_minute=100)
    app = create_app(settings)
    port = free_port()
    running = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    with app.state.sessionmaker() as session:
        a_year_of_departures(session, settings.placement_date())
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(15)


def _plot_drawn(browser: Any, element_id: str) -> bool:
    return bool(
        browser.execute_script(f"return document.getElementById('{element_id}').naturalWidth")
    )


def test_coordinator_reads_outcomes_with_counts_intervals_and_plots(
    browser: Any, server: str
) -> None:
    sign_in(browser, server, Role.coordinator)
    browser.get(f"{server}/outcomes")
    headline = wait_for(browser, "outcomes-headline").text
    assert "Planned move-on" in headline and " of " in headline and "%" in headline
    assert "Sustained at 12 months" in headline and "Returned within 6 months" in headline
    assert "Step-down" in text_of(browser, "outcomes-pathway")
    for plot in ("shares-plot", "stays-plot", "cohort-plot"):
        assert _plot_drawn(browser, plot), plot
    screenshot(browser, "outcomes")
    screenshot(browser, "outcomes-by-pathway", "outcomes-pathway")


def test_commissioner_sees_outcomes_without_small_counts(browser: Any, server: str) -> None:
    sign_in(browser, server, Role.commissioner)
    browser.get(f"{server}/outcomes")
    wait_for(browser, "outcomes-headline")
    assert "fewer than 5" in text_of(browser, "outcomes-unit")
    screenshot(browser, "outcomes-commissioner")


def test_housing_options_has_no_outcomes(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    sign_in(browser, server, Role.housing_options)
    assert not browser.find_elements(By.LINK_TEXT, "Outcomes")
    assert is_forbidden(browser, server, "/outcomes")
