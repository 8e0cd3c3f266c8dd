"""The portfolio's headline figures for anyone signed in: the women-safe share against its
30% target (Barnsley, 002_dcd69be417dc9cc0.txt) with the counts behind it, the waiting list
per cohort with its waits, a plot of the list by priority and time waiting, and the 8-hour
responses owed to high-risk domestic-abuse referrals, with their breaches.

Counts of people are aggregates; for roles that may not see personal data, a count under
`SMALL_COUNT` is shown as such, and its waits are left out, so a small cohort (two 17-year-
olds, one household) cannot single anyone out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from api.orm import OfferRow, PlacementRow, ReferralRow  # noqa: E402
from api.services.clocks import DA_RESPONSE, owes_da_response, referred_moment  # noqa: E402
from api.services.plots import png_of  # noqa: E402
from capacity.quotas import WomenOnlyShare, women_only_share  # noqa: E402
from constraints.cohorts import COHORT_NAMES, cohorts_of_referral  # noqa: E402
from matcher.equity import equity  # noqa: E402
from matcher.model import Problem, Referral  # noqa: E402

SMALL_COUNT = 5
# Bands of time waited, by their last day (None: no end).
WAIT_BANDS = ((30, "up to 30 days"), (90, "31-90 days"), (180, "91-180 days"), (None, "longer"))


@dataclass(frozen=True)
class CohortWaiting:
    name: str
    waiting: str  # a count, or "fewer than 5"
    wait_p50_days: float | None
    wait_p90_days: float | None


@dataclass(frozen=True)
class Figures:
    women: WomenOnlyShare
    cohorts: list[CohortWaiting]


def figures(problem: Problem, sees_personal_data: bool) -> Figures:
    rows = equity(problem.referrals, set(), problem.as_of)
    cohorts = []
    for row in rows:
        small = not sees_personal_data and 0 < row.waiting < SMALL_COUNT
        cohorts.append(
            CohortWaiting(
                name=COHORT_NAMES[row.cohort],
                waiting=f"fewer than {SMALL_COUNT}" if small else str(row.waiting),
                wait_p50_days=None if small else row.wait_p50_days,
                wait_p90_days=None if small else row.wait_p90_days,
            )
        )
    return Figures(women=women_only_share(problem), cohorts=cohorts)


def waiting_plot(problem: Problem) -> bytes:
    """The waiting list by priority, each bar split by how long people have waited (PNG)."""
    counts = [[0] * 5 for _ in WAIT_BANDS]
    for referral in problem.referrals:
        counts[_band((problem.as_of - referral.referred).days)][referral.priority - 1] += 1
    fig, ax = plt.subplots(figsize=(8, 3.6))
    bottom = [0] * 5
    colours = ("#a8dadc", "#457b9d", "#e9c46a", "#e76f51")
    for band, (_, label) in enumerate(WAIT_BANDS):
        ax.bar(range(1, 6), counts[band], bottom=bottom, label=label, color=colours[band])
        bottom = [b + c for b, c in zip(bottom, counts[band], strict=True)]
    for priority, total in enumerate(bottom, start=1):
        ax.annotate(str(total), (priority, total), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(1, 6), [f"priority {p}" for p in range(1, 6)])
    ax.set_ylabel("people waiting")
    ax.set_title("Waiting list by priority and time waited")
    ax.legend(title="waited", fontsize=8)
    fig.tight_layout()
    return png_of(fig)


def _band(days: int) -> int:
    return next(i for i, (last, _) in enumerate(WAIT_BANDS) if last is None or days <= last)


@dataclass(frozen=True)
class DaResponses:
    """8-hour responses owed (priority-5 DA referrals) and how they went, counted."""

    owed: int = 0
    in_time: int = 0  # first offer (or placement) within 8 hours
    late: int = 0  # first offer after 8 hours: a breach
    overdue: int = 0  # no offer yet and the 8 hours have passed: a breach
    running: int = 0  # no offer yet, still within the 8 hours
    withdrawn: int = 0  # referral withdrawn with no offer ever made

    @property
    def breaches(self) -> int:
        return self.late + self.overdue


def da_responses(session: Session, now: datetime) -> DaResponses:
    """Count every 8-hour response owed, from the referrals and their first offer or
    placement (recounted from the records each time, never stored)."""
    first_offer = dict(
        session.execute(
            select(OfferRow.referral, func.min(OfferRow.made_at)).group_by(OfferRow.referral)
        ).all()
    )
    first_placement = dict(
        session.execute(
            select(PlacementRow.referral, func.min(PlacementRow.placed_at)).group_by(
                PlacementRow.referral
            )
        ).all()
    )
    counts = dict.fromkeys(("owed", "in_time", "late", "overdue", "running", "withdrawn"), 0)
    for row in session.scalars(select(ReferralRow).where(ReferralRow.priority == 5)):
        if not owes_da_response(row):
            continue
        counts["owed"] += 1
        due = referred_moment(row) + DA_RESPONSE
        answered = [t for t in (first_offer.get(row.id), first_placement.get(row.id)) if t]
        if answered:
            counts["in_time" if min(answered) <= due else "late"] += 1
        elif row.status == "withdrawn":
            counts["withdrawn"] += 1
        else:
            counts["overdue" if now > due else "running"] += 1
    return DaResponses(**counts)


@dataclass(frozen=True)
class StepTimes:
    """Time between the steps of a placement for one group: median days from referral to the
    first offer, and from an accepted offer to the arrival."""

    group: str
    offered: str  # how many were offered a place (or "fewer than 5")
    referral_to_offer_days: float | None
    arrived: str  # how many accepted an offer
    offer_to_arrival_days: float | None


def step_times(session: Session, sees_personal_data: bool) -> list[StepTimes]:
    """Per priority band and cohort, recounted from the offers each time (never stored);
    small groups suppressed for roles that may not see people, as for the waiting list."""
    first_offers: dict[str, datetime] = dict(
        session.execute(
            select(OfferRow.referral, func.min(OfferRow.made_at)).group_by(OfferRow.referral)
        ).all()
    )
    accepted = {
        o.referral: (o.made_at, o.arrival_on)
        for o in session.scalars(select(OfferRow).where(OfferRow.state == "accepted"))
        if o.arrival_on is not None
    }
    groups: dict[str, tuple[list[float], list[float]]] = {}
    ids = list(first_offers)
    for row in session.scalars(select(ReferralRow).where(ReferralRow.id.in_(ids))):
        person = Referral.model_validate(row, from_attributes=True)
        names = ["Everyone", f"Priority {row.priority}"] + sorted(
            COHORT_NAMES[c.value] for c in cohorts_of_referral(person)
        )
        to_offer = (first_offers[row.id] - referred_moment(row)).total_seconds() / 86400
        answered = accepted.get(row.id)
        for name in names:
            offers_, arrivals = groups.setdefault(name, ([], []))
            offers_.append(to_offer)
            if answered is not None:
                made, arrival = answered
                arrivals.append(float((arrival - made.date()).days))
    order = ["Everyone"] + [f"Priority {p}" for p in range(5, 0, -1)]
    ranked = sorted(groups, key=lambda g: (order.index(g) if g in order else len(order), g))
    return [_step_row(name, *groups[name], sees_personal_data) for name in ranked]


def _step_row(
    name: str, to_offer: list[float], to_arrival: list[float], sees_personal_data: bool
) -> StepTimes:
    def count(values: list[float]) -> tuple[str, float | None]:
        if not sees_personal_data and 0 < len(values) < SMALL_COUNT:
            return f"fewer than {SMALL_COUNT}", None
        return str(len(values)), (statistics.median(values) if values else None)

    offered, offer_days = count(to_offer)
    arrived, arrival_days = count(to_arrival)
    return StepTimes(name, offered, offer_days, arrived, arrival_days)
