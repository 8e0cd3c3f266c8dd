"""The one service function that ranks a waiting referral: who is waiting, and the 409s for
someone who stopped waiting while the answer was being worked out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from api.orm import ReferralRow
from api.services.errors import Conflict, NotFound
from api.services.ranking import ensure_waiting, rank_waiting
from matcher.ranking import build_context
from tests.constraints.rule_cases import case


@dataclass
class Row:
    status: str


class FakeSession:
    """Just what `ensure_waiting` reads: one referral row, refreshed from `status_now`."""

    def __init__(self, rows: dict[str, Row], status_now: dict[str, str]) -> None:
        self.rows, self.status_now, self.refreshed = rows, status_now, 0

    def get(self, kind: Any, item_id: str) -> Row | None:
        assert kind is ReferralRow
        return self.rows.get(item_id)

    def refresh(self, row: Row) -> None:
        self.refreshed += 1
        for item_id, held in self.rows.items():
            if held is row:
                row.status = self.status_now[item_id]


def test_a_waiting_referral_is_ranked_without_reading_the_database() -> None:
    context = build_context(case())
    _, result = rank_waiting(None, "R1", context=context, top=1)
    assert result.referral == "R1" and [p.bedspace for p in result.ranked] == ["B1"]


def test_not_waiting_names_the_status_read_afresh() -> None:
    context = build_context(case().model_copy(update={"referrals": []}))
    session = FakeSession({"R1": Row("waiting")}, {"R1": "placed"})
    with pytest.raises(Conflict, match="'R1' is placed, not waiting"):
        ensure_waiting(session, context, "R1")  # type: ignore[arg-type]
    assert session.refreshed == 1


def test_waiting_in_the_database_but_not_in_the_context_is_a_race_to_try_again() -> None:
    context = build_context(case().model_copy(update={"referrals": []}))
    session = FakeSession({"R1": Row("waiting")}, {"R1": "waiting"})
    with pytest.raises(Conflict, match="changed while it was being placed: try again"):
        ensure_waiting(session, context, "R1", doing="placed")  # type: ignore[arg-type]


def test_an_unknown_referral_is_not_found() -> None:
    context = build_context(case())
    with pytest.raises(NotFound):
        ensure_waiting(FakeSession({}, {}), context, "nobody")  # type: ignore[arg-type]
