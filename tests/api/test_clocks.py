"""Clocks: `referred` takes a timestamp (a date alone reads as midnight); each person's wait;
the 8-hour response owed to a priority-5 domestic-abuse referral, at the top of the
coordinator's home page until it has an offer; its breaches counted on the figures page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from api.security import Role
from api.services import audit
from api.services.clocks import duration_words
from api.services.figures import da_responses
from matcher.model import Referral
from tests.api.conftest import Service
from tests.api.helpers import factory

C = Role.coordinator
PERSON = {"age": 30, "gender": "woman", "risk": "low"}


def test_referred_takes_a_timestamp_and_a_date_reads_as_midnight() -> None:
    timed = Referral.model_validate({"id": "R1", "referred": "2026-12-07T08:30:00+01:00", **PERSON})
    assert str(timed.referred) == "2026-12-07"
    assert timed.referred_at == datetime(2026, 12, 7, 7, 30)  # kept in UTC
    dated = Referral.model_validate({"id": "R1", "referred": "2026-12-07", **PERSON})
    assert dated.referred_at is None and "referred_at" not in dated.model_dump()
    moved = Referral.model_validate({**timed.model_dump(), "referred": "2026-12-09"})
    assert moved.referred_at is None  # the old time was of another day
    with pytest.raises(ValueError, match="referred"):
        Referral.model_validate({"id": "R1", "referred": "2026-12-07T25:00", **PERSON})


def test_the_api_takes_a_timestamp_by_post_patch_and_an_old_put(sqlite_service: Service) -> None:
    client, headers = sqlite_service.client, sqlite_service.as_role(C)
    made = client.post(
        "/api/referrals",
        json={"id": "T1", "referred": "2026-12-01T09:15", **PERSON},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["referred"] == "2026-12-01"
    assert made.json()["referred_at"].startswith("2026-12-01T09:15")
    patched = client.patch(
        "/api/referrals/T1", json={"referred": "2026-12-02T10:00"}, headers=headers
    ).json()
    assert patched["referred"] == "2026-12-02" and patched["referred_at"].startswith(
        "2026-12-02T10:00"
    )
    # A client written before names, references and timestamps replaces a record whole.
    old = {k: v for k, v in patched.items() if k not in ("status", "referred_at")}
    replaced = client.put(
        "/api/referrals/T1", json={**old, "referred": "2026-12-03"}, headers=headers
    )
    assert replaced.status_code == 200, replaced.text
    assert "referred_at" not in replaced.json()


def test_duration_words() -> None:
    assert duration_words(timedelta(hours=7, minutes=5)) == "7 hours 5 minutes"
    assert duration_words(timedelta(days=2, hours=1)) == "2 days 1 hour"
    assert duration_words(timedelta(seconds=20)) == "under a minute"


def referral_at(service: Service, referral_id: str, hours_ago: float) -> None:
    moment = audit.now() - timedelta(hours=hours_ago)
    body = {
        "id": referral_id,
        "referred": moment.isoformat(timespec="minutes"),
        "priority": 5,
        "flags": ["da_victim"],
        "name": f"Person {referral_id}",
        **PERSON,
    }
    made = service.client.post("/api/referrals", json=body, headers=service.as_role(C))
    assert made.status_code == 201, made.text


def counted(service: Service) -> dict[str, int]:
    with factory(service.client)() as session:
        found = da_responses(session, audit.now())
    return {"owed": found.owed, "in_time": found.in_time, "overdue": found.overdue,
            "running": found.running, "breaches": found.breaches}  # fmt: skip


def test_an_urgent_da_referral_leads_the_home_page_until_it_has_an_offer(
    sqlite_service: Service,
) -> None:
    service, client = sqlite_service, sqlite_service.client
    before = counted(service)
    referral_at(service, "DA1", hours_ago=2)
    referral_at(service, "DA2", hours_ago=10)
    after = counted(service)
    assert after["owed"] == before["owed"] + 2
    assert after["running"] == before["running"] + 1
    assert after["overdue"] == before["overdue"] + 1

    client.cookies.set("bedmatch_token", service.as_role(C)["Authorization"].split()[1])
    home = client.get("/").text
    owed = home.split('id="owed-responses"')[1].split("</section>")[0]
    # Referred 2 and 10 hours ago, to the minute: about 6 hours left, about 2 hours over.
    assert re.search(r"Person DA1</a> \(DA1\): (5 hours 5\d minutes|6 hours) left", owed), owed
    assert re.search(r"\(DA2\): 8-hour response overdue by (1 hour 5\d minutes|2 hours)", owed)
    assert owed.index("(DA2)") < owed.index("(DA1)")  # the most overdue first
    page = client.get("/referrals/DA1").text
    assert "left of the 8-hour response" in page and "Waiting 2 hours" in page
    figures = client.get("/stats").text
    assert f"{after['breaches']}: " in figures.split('id="da-breaches"')[1]

    top = client.get("/api/referrals/DA1/rank?top=1", headers=service.as_role(C)).json()
    assert top["ranked"], "the demo has a safe place for DA1"
    made = client.post(
        "/api/offers",
        json={"referral": "DA1", "bedspace": top["ranked"][0]["bedspace"]},
        headers=service.as_role(C),
    )
    assert made.status_code == 201, made.text
    home = client.get("/").text
    assert "(DA1)" not in home and "(DA2)" in home
    assert counted(service)["in_time"] == before["in_time"] + 1

    client.cookies.set(
        "bedmatch_token", service.as_role(Role.housing_options)["Authorization"].split()[1]
    )
    assert 'id="owed-responses"' not in client.get("/").text


def test_the_figures_page_gives_the_time_between_steps(sqlite_service: Service) -> None:
    from api.services.figures import step_times
    from tests.api.test_offers import offer, step, top_pairs

    service = sqlite_service
    pairs = top_pairs(service, 2)
    made = [offer(service, r, b).json() for r, b in pairs]
    arrival = service.settings.placement_date() + timedelta(days=30)
    assert (
        step(service, made[0]["id"], "accept", {"arrival_on": arrival.isoformat()}).status_code
        == 200
    )
    with factory(service.client)() as session:
        rows = {s.group: s for s in step_times(session, sees_personal_data=True)}
        hidden = {s.group: s for s in step_times(session, sees_personal_data=False)}
    everyone = rows["Everyone"]
    assert (everyone.offered, everyone.arrived) == ("2", "1")
    assert everyone.referral_to_offer_days is not None and everyone.referral_to_offer_days > 0
    assert everyone.offer_to_arrival_days is not None and everyone.offer_to_arrival_days >= 29
    assert hidden["Everyone"].offered == "fewer than 5"
    assert hidden["Everyone"].referral_to_offer_days is None
    service.client.cookies.set(
        "bedmatch_token", service.as_role(Role.commissioner)["Authorization"].split()[1]
    )
    page = service.client.get("/stats")
    assert page.status_code == 200 and 'id="step-times"' in page.text
    assert pairs[0][0] not in page.text
