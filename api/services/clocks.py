"""Clocks a coordinator works to: how long each person has waited since referral, and the
8-hour response owed to a high-risk domestic-abuse referral (a priority-5 `da_victim`:
Middlesbrough options appraisal, 000_6536288ccc9992c8.txt). The response is the first offer
of a bed-space (or a placement made directly); until then the referral leads the
coordinator's home page. A referral known only by its date reads as referred at midnight
(UTC), so its clock runs from then, never later than it should."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.orm import ReferralRow
from matcher.model import Flag, Referral

DA_RESPONSE = timedelta(hours=8)


def referred_moment(referral: Referral | ReferralRow) -> datetime:
    """When the person was referred: `referred_at`, or midnight of `referred`."""
    if referral.referred_at is not None:
        return referral.referred_at
    return datetime.combine(referral.referred, time())


def owes_da_response(referral: Referral | ReferralRow) -> bool:
    flags = [getattr(f, "value", f) for f in referral.flags]
    return referral.priority == 5 and Flag.da_victim.value in flags


def duration_words(span: timedelta) -> str:
    """A span as a coordinator says it: "2 days 3 hours", "5 hours 10 minutes"."""
    minutes = int(abs(span).total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (minutes, "minute")]
    said = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(said) or "under a minute"


@dataclass(frozen=True)
class DaClock:
    referral: str
    name: str | None
    due: datetime
    left: timedelta  # negative once the 8 hours have passed

    @property
    def breached(self) -> bool:
        return self.left < timedelta(0)

    @property
    def words(self) -> str:
        if self.breached:
            return f"8-hour response overdue by {duration_words(self.left)}"
        return f"{duration_words(self.left)} left of the 8-hour response"


def da_clock(referral: Referral | ReferralRow, now: datetime) -> DaClock | None:
    """The response clock of a referral that owes one, else None."""
    if not owes_da_response(referral):
        return None
    due = referred_moment(referral) + DA_RESPONSE
    return DaClock(referral.id, referral.name, due, due - now)


def waiting_clocks(session: Session, now: datetime) -> list[DaClock]:
    """Every waiting referral that owes an 8-hour response and has had no offer yet, the
    most overdue first."""
    rows = session.scalars(
        select(ReferralRow).where(ReferralRow.status == "waiting", ReferralRow.priority == 5)
    )
    clocks = [c for row in rows if (c := da_clock(row, now)) is not None]
    return sorted(clocks, key=lambda c: (c.due, c.referral))


def owed_on_page(found: Iterable[Any], now: datetime) -> dict[str, DaClock]:
    """Referral id -> response clock, for the waiting people on a page of the list."""
    return {
        f.referral.id: clock
        for f in found
        if f.status == "waiting" and (clock := da_clock(f.referral, now)) is not None
    }


def page_context(referral: Referral, now: datetime, status: str) -> dict[str, object]:
    """A person's page: how long they have waited, and their response clock while waiting."""
    return {
        "waited_words": duration_words(now - referred_moment(referral)),
        "da_clock": da_clock(referral, now) if status == "waiting" else None,
    }
