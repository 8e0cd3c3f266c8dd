"""A batch run's page in plain words: proposals overtaken since the run (the person placed
by hand, or no longer fitting beside the rest as the data stands) are marked and left out,
and everyone who still can be is offered a place in one go."""

from __future__ import annotations

import re

from api.security import Role
from tests.api.conftest import Service
from tests.api.test_service import wait_for_run

C = Role.coordinator


def test_a_proposal_overtaken_since_the_run_is_marked_and_the_rest_placed(
    sqlite_service: Service,
) -> None:
    client = sqlite_service.client
    headers = sqlite_service.as_role(C)
    run = client.post("/api/runs", json={"backend": "greedy", "time_limit_s": 5}, headers=headers)
    assert run.status_code == 202, run.text
    done = wait_for_run(sqlite_service, run.json()["id"])
    proposed = [r for r in done["results"] if r["bedspace"] is not None]
    assert len(proposed) >= 2
    # Someone the run proposes is placed by hand elsewhere first.
    overtaken = proposed[0]["referral"]
    answer = client.get(f"/api/referrals/{overtaken}/rank?top=1", headers=headers).json()
    top = answer["ranked"][0]
    placed = client.post(
        "/api/placements",
        json={"referral": overtaken, "bedspace": top["bedspace"]},
        headers=headers,
    )
    assert placed.status_code == 201, placed.text

    client.cookies.set("bedmatch_token", headers["Authorization"].split()[1])
    page = client.get(f"/runs/{done['id']}")
    assert page.status_code == 200
    assert "no longer possible: this person is placed now" in page.text
    outcome = re.search(r"<p id=\"outcome\">(.*?)</p>", page.text, re.S)
    assert outcome is not None
    assert not re.search(r"objective|bound|gap", outcome.group(1)), outcome.group(1)
    # Everyone else the run proposed who still fits beside the others, checked as they are now.
    button = re.search(r"Offer to everyone who still can be \((\d+)\)", page.text)
    assert button is not None
    still = int(button.group(1))
    assert 0 < still < len(proposed)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    accepted = client.post(
        f"/runs/{done['id']}/accept",
        data={"csrf_token": token.group(1), "which": "all"},
        follow_redirects=False,
    )
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"].endswith(f"accepted={still}")
