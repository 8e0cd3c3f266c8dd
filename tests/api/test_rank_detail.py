"""The rank endpoint's two forms: the full answer and the screen-sized summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from api.db import lock_for_write
from api.routers import people
from api.security import Role
from tests.api.conftest import Service
from tests.api.helpers import factory


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


def test_a_summary_from_a_current_context_is_answered_on_the_event_loop_and_alike(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Answered on the loop when the context for the data version is built, in the thread
    pool when it must be built (or the answer is long): the same answer either way."""
    client, coordinator = sqlite_service.client, sqlite_service.as_role(Role.coordinator)
    hops: list[str] = []
    original = people.run_in_threadpool

    async def counted(function: Callable[..., Any], *args: Any) -> Any:
        hops.append(getattr(function, "__name__", "?"))
        return await original(function, *args)

    monkeypatch.setattr(people, "run_in_threadpool", counted)
    referral = client.get("/api/referrals?status=waiting&limit=1", headers=coordinator).json()[0]
    url = f"/api/referrals/{referral['id']}/rank"
    summary = {"top": 5, "detail": "summary"}

    def ask(params: dict[str, Any]) -> tuple[Any, int]:
        before = len(hops)
        answer = client.get(url, params=params, headers=coordinator)
        assert answer.status_code == 200, answer.text
        return answer.json(), len(hops) - before

    client.get(url, params=summary, headers=coordinator)  # the context is built
    on_loop, hopped = ask(summary)
    assert hopped == 0
    with factory(client)() as session:  # a write: the next answer builds the context anew
        lock_for_write(session)
        session.commit()
    rebuilt, hopped = ask(summary)
    assert hopped == 1 and rebuilt == on_loop
    assert ask(summary)[1] == 0
    assert ask({"top": 5, "detail": "full"})[1] == 1  # the long form
    assert ask({"top": people.ON_LOOP_MAX_TOP + 1, "detail": "summary"})[1] == 1
