"""`GET /api/referrals/{id}/rank` leaves out the bed-spaces the person declined, as their
page does, unless the coordinator asks again (`ask_again=true`); on every path the answer
takes (worked out on the event loop or in the pool, summary or full)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api.security import Role
from tests.api.conftest import Service
from tests.api.test_offers import offer, step, top_pairs

C = Role.coordinator


def _rank(service: Service, referral: str, **params: Any) -> dict[str, Any]:
    answer = service.client.get(
        f"/api/referrals/{referral}/rank", params=params, headers=service.as_role(C)
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _proposed(ranking: dict[str, Any]) -> set[str]:
    ranked = {p["bedspace"] for p in ranking["ranked"]}
    return ranked | {b for unit in ranking["units"] for b in unit["bedspaces"]}


@pytest.mark.parametrize("detail", ["summary", "full"])
def test_a_declined_bed_space_is_not_ranked_again_unless_asked(
    sqlite_service: Service, detail: str
) -> None:
    service = sqlite_service
    [(referral, bedspace)] = top_pairs(service, 1)
    before = _rank(service, referral, detail=detail, top=5)
    assert bedspace in _proposed(before)
    made = offer(service, referral, bedspace)
    assert made.status_code == 201, made.text
    declined = step(service, made.json()["id"], "decline", {"reason_code": "person_refused"})
    assert declined.status_code == 200, declined.text

    for _ in range(2):  # the second answer may come from the event loop, the first never
        after = _rank(service, referral, detail=detail, top=5)
        assert bedspace not in _proposed(after)
        assert any("declined before" in note for note in after["notes"])
    again = _rank(service, referral, detail=detail, top=5, ask_again="true")
    assert bedspace in _proposed(again)
    assert again["ranked"][0]["bedspace"] == before["ranked"][0]["bedspace"]


def test_the_api_and_the_person_page_propose_the_same_units(sqlite_service: Service) -> None:
    service = sqlite_service
    [(referral, bedspace)] = top_pairs(service, 1)
    made = offer(service, referral, bedspace).json()
    step(service, made["id"], "decline", {"reason_code": "person_refused"})
    ranking = _rank(service, referral, detail="summary", top=5)
    page = service.client.get(f"/referrals/{referral}", headers=service.as_role(C)).text
    assert f"{bedspace}" not in re.findall(r'name="bedspace" value="([^"]+)"', page)
    first_on_page = re.search(r'name="bedspace" value="([^"]+)"', page)
    assert first_on_page is not None
    assert first_on_page.group(1) == ranking["units"][0]["bedspaces"][0]


def test_the_top_asked_for_is_filled_past_the_declined(sqlite_service: Service) -> None:
    service = sqlite_service
    [(referral, bedspace)] = top_pairs(service, 1)
    before = _rank(service, referral, top=3)
    made = offer(service, referral, bedspace).json()
    step(service, made["id"], "decline", {"reason_code": "other", "text": "too far from work"})
    after = _rank(service, referral, top=3)
    assert len(after["ranked"]) == len(before["ranked"]) == 3
