"""The rank endpoint's two forms: the full answer and the screen-sized summary."""

from __future__ import annotations

from collections import Counter

from api.security import Role
from tests.api.conftest import Service


def test_summary_counts_the_exclusions_the_full_answer_lists(sqlite_service: Service) -> None:
    client, coordinator = sqlite_service.client, sqlite_service.as_role(Role.coordinator)
    waiting = client.get("/api/referrals?status=waiting&limit=20", headers=coordinator).json()
    assert waiting
    for referral in waiting:
        url = f"/api/referrals/{referral['id']}/rank"
        full = client.get(url, params={"top": 3}, headers=coordinator).json()
        summary = client.get(url, params={"top": 3, "detail": "summary"}, headers=coordinator)
        assert summary.status_code == 200, summary.text
        brief = summary.json()
        assert brief["detail"] == "summary" and full["detail"] == "full"
        assert brief["excluded"] == []
        assert brief["excluded_units"] == full["excluded_units"] == len(full["excluded"])
        listed = Counter(rule for unit in full["excluded"] for rule in unit["rules"])
        assert brief["excluded_by_rule"] == dict(listed)
        assert brief["ranked"] == full["ranked"]
        assert {u["unit"] for u in brief["units"]} == {p["unit"] for p in full["ranked"]}


def test_an_unknown_detail_is_refused_naming_the_parameter(sqlite_service: Service) -> None:
    client, coordinator = sqlite_service.client, sqlite_service.as_role(Role.coordinator)
    referral = client.get("/api/referrals?status=waiting&limit=1", headers=coordinator).json()[0]
    url = f"/api/referrals/{referral['id']}/rank"
    answer = client.get(url, params={"detail": "everything"}, headers=coordinator)
    assert answer.status_code == 422
    assert "detail" in answer.text
