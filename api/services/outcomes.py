"""Outcomes of stays: how they ended and whether the person stayed housed, per unit, pathway,
support team and cohort (issue 27), each figure recounted from the stored events.

Derby pays by results on planned move-on (001_f0b97a0675c2ab20.txt); Oxfordshire measures
"more adults living independently ... and not returning to homelessness"
(003_a67c211e5b94c3ff.txt). For the stays that ended in a date range:

- a stay is a placement in one bed-space (`api.services.returns.stays`): a transfer ends one
  stay and begins the next, and is not a departure; a move-out is;
- planned move-on, eviction and abandonment are shares of the departures;
- a person *returns* when they are referred again or placed again (any referral with their
  case reference, or their own id where none is recorded) after the day they left;
- *sustained at 6 (12) months*: of the planned move-ons, those with no return within 183
  (365) days of leaving. Only departures at least that long before the day the figures are
  made are judged; the others are counted as too recent, not guessed;
- *returned to homelessness within 6 (12) months*: of the departures (deaths left out), those
  with a return within the window or who left to sleep rough, judged the same way;
- median length of stay, and the share of stays longer than their pathway's target
  (`capacity.length_of_stay.STAY_TARGETS`), over every stay that ended in the range.

Every share carries its count (k of n) and a Wilson 95% interval. A grouping is one function
from the session to the groups a stay belongs to (`GROUPINGS`), the By Name List's cohort
among them.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.orm import (
    BedSpaceRow,
    ListMemberRow,
    PlacementRow,
    ReferralRow,
    ResidentRow,
    SupportTeamRow,
    UnitRow,
)
from api.services.departure_reasons import DepartureReason, Destination
from api.services.list_status import COHORT_WORDS, Cohort
from api.services.returns import check_range, stays
from capacity.length_of_stay import STAY_TARGETS
from capacity.statistics import share_interval
from capacity.vacancies import CONFIDENTIAL_NAME
from constraints.cohorts import COHORT_NAMES, cohorts_of
from matcher.model import Flag, Gender, Pathway, Risk

# Six months and a year after leaving, in days.
WINDOWS = {6: 183, 12: 365}
PATHWAY_NAMES = {
    Pathway.emergency: "Emergency / crisis",
    Pathway.recovery: "Recovery",
    Pathway.housing_first: "Housing First",
    Pathway.step_down: "Step-down",
}


@dataclass(frozen=True)
class OutcomeStay:
    """One stay with what the outcome figures group and judge it by."""

    person: str  # the case reference, or the referral's id where none is recorded
    resident: str
    unit: str
    pathway: Pathway
    support_team: str | None
    start: date | None  # None: before anything the service recorded
    end: date | None  # None: still there
    reason: str | None = None
    destination: str | None = None
    ended_by_move: bool = False
    cohorts: frozenset[str] = frozenset()

    @property
    def days(self) -> int | None:
        if self.start is None or self.end is None:
            return None
        return (self.end - self.start).days


@dataclass(frozen=True)
class Presentation:
    """The person seen by the service on a day: a referral made, or a placement."""

    person: str
    on: date


@dataclass(frozen=True)
class Share:
    k: int
    n: int

    @property
    def share(self) -> float | None:
        return self.k / self.n if self.n else None

    @property
    def interval(self) -> tuple[float, float] | None:
        return share_interval(self.k, self.n)


@dataclass(frozen=True)
class FollowUp:
    """A share judged some months after leaving, and the departures too recent to judge."""

    months: int
    judged: Share
    too_recent: int


@dataclass
class GroupOutcome:
    grouping: str  # unit | pathway | support_team | cohort | ...
    key: str
    name: str
    stays_ended: int  # by a move-out or a transfer, in the range
    departures: int
    transfers_out: int
    planned_move_on: Share
    evictions: Share
    abandonments: Share
    sustained: list[FollowUp]
    returned: list[FollowUp]
    median_stay_days: float | None
    past_target: Share  # of the ended stays with a known start on a pathway with a limit
    target_days: int | None  # the pathway's desired average, where the group has one pathway
    limit_days: int | None  # the pathway's longest stay, likewise


@dataclass
class OutcomeReport:
    start: date
    end: date
    as_of: date
    groups: dict[str, list[GroupOutcome]]
    notes: list[str] = field(default_factory=list)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


GroupKeys = Callable[[OutcomeStay], Iterable[tuple[str, str]]]  # a stay -> (key, name)s
Grouping = Callable[[Session, bool], GroupKeys]  # (session, sees personal data) -> keys


def by_unit(session: Session, sees_personal_data: bool) -> GroupKeys:
    """Each unit; refuges as one group for those who may not see their names."""
    names: dict[str, tuple[str, str]] = {}
    for unit in session.scalars(select(UnitRow)):
        hidden = unit.confidential_address and not sees_personal_data
        names[unit.id] = ("", CONFIDENTIAL_NAME) if hidden else (unit.id, unit.name or unit.id)
    return lambda stay: [names.get(stay.unit, (stay.unit, stay.unit))]


def by_pathway(session: Session, sees_personal_data: bool) -> GroupKeys:
    return lambda stay: [(stay.pathway.value, PATHWAY_NAMES[stay.pathway])]


def by_support_team(session: Session, sees_personal_data: bool) -> GroupKeys:
    """The team supporting the stay; stays without one are not a team's."""
    kinds = {t.id: t.kind for t in session.scalars(select(SupportTeamRow))}

    def keys(stay: OutcomeStay) -> list[tuple[str, str]]:
        team = stay.support_team
        if team is None:
            return []
        kind = kinds.get(team)
        return [(team, f"{team} ({kind})" if kind else team)]

    return keys


def by_cohort(session: Session, sees_personal_data: bool) -> GroupKeys:
    """Everyone, and each cohort of `constraints.cohorts` the person belongs to."""
    return lambda stay: (
        [("all", COHORT_NAMES["all"])] + [(c, COHORT_NAMES[c]) for c in sorted(stay.cohorts)]
    )


def by_list_cohort(session: Session, sees_personal_data: bool) -> GroupKeys:
    """The person's By Name List cohort (their latest listing, current or past); people never
    listed as one group, so the list's outcomes read beside everyone else's."""
    cohort_of: dict[str, str] = {}
    listings = session.execute(
        select(ListMemberRow.case_reference, ListMemberRow.cohort).order_by(ListMemberRow.id)
    )
    for person, cohort in listings:
        cohort_of[person] = cohort
    never = ("not_listed", "not on the By Name List")

    def keys(stay: OutcomeStay) -> list[tuple[str, str]]:
        cohort = cohort_of.get(stay.person)
        if cohort is None:
            return [never]
        return [(cohort, f"By Name List: {COHORT_WORDS[Cohort(cohort)]}")]

    return keys


GROUPINGS: dict[str, Grouping] = {
    "unit": by_unit,
    "pathway": by_pathway,
    "support_team": by_support_team,
    "cohort": by_cohort,
    "list_cohort": by_list_cohort,
}


def history(session: Session) -> tuple[list[OutcomeStay], list[Presentation]]:
    """Every stay with its person, unit, pathway and cohorts; every referral and placement as
    the day its person was seen."""
    referrals = {r.id: r for r in session.scalars(select(ReferralRow))}
    residents = {r.id: r for r in session.scalars(select(ResidentRow))}
    unit_of_bed = {b: u for b, u in session.execute(select(BedSpaceRow.id, BedSpaceRow.unit))}
    pathway_of_unit = {
        u: Pathway(p) for u, p in session.execute(select(UnitRow.id, UnitRow.pathway))
    }

    def person_of(referral_id: str) -> str:
        row = referrals.get(referral_id)
        return row.case_reference if row is not None and row.case_reference else referral_id

    cohorts: dict[str, frozenset[str]] = {}
    out = []
    for s in stays(session):
        unit = unit_of_bed[s.bedspace]
        pathway = pathway_of_unit[unit]
        if s.resident not in cohorts:
            cohorts[s.resident] = _cohorts(
                referrals.get(s.resident), residents[s.resident], pathway
            )
        out.append(
            OutcomeStay(
                person=person_of(s.resident),
                resident=s.resident,
                unit=unit,
                pathway=pathway,
                support_team=s.support_team,
                start=s.start,
                end=s.end,
                reason=s.left_reason,
                destination=s.destination,
                ended_by_move=s.ended_by_move,
                cohorts=cohorts[s.resident],
            )
        )
    seen = [Presentation(person_of(r.id), r.referred) for r in referrals.values()]
    seen += [
        Presentation(person_of(referral), on)
        for referral, on in session.execute(
            select(PlacementRow.referral, PlacementRow.placed_on).where(
                PlacementRow.undone_at.is_(None), PlacementRow.transfer_from.is_(None)
            )
        )
    ]
    return out, seen


def _cohorts(
    referral: ReferralRow | None, resident: ResidentRow, pathway: Pathway
) -> frozenset[str]:
    """The person's cohorts from their referral, or from their resident's row (people in a
    bed-space before the service began have no referral)."""
    person = referral if referral is not None else resident
    return frozenset(
        c.value
        for c in cohorts_of(
            person.age,
            Gender(person.gender),
            Risk(person.risk),
            [Flag(f) for f in person.flags],
            Pathway(referral.pathway) if referral is not None else pathway,
            referral.household_size if referral is not None else 1,
        )
    )


def outcome_figures(
    all_stays: Iterable[OutcomeStay],
    seen: Iterable[Presentation],
    start: date,
    end: date,
    as_of: date,
    groupings: Mapping[str, GroupKeys],
) -> dict[str, list[GroupOutcome]]:
    """The figures of each group of each grouping, over the stays that ended in
    [start, end], judged with what is known on `as_of`."""
    seen_on: dict[str, list[date]] = defaultdict(list)
    for p in seen:
        seen_on[p.person].append(p.on)
    for days in seen_on.values():
        days.sort()

    def returned_within(stay: OutcomeStay, window: int) -> bool:
        assert stay.end is not None
        days = seen_on.get(stay.person, [])
        after = bisect.bisect_right(days, stay.end)  # the first day after they left
        return after < len(days) and days[after] <= stay.end + timedelta(days=window)

    ended = [s for s in all_stays if s.end is not None and start <= s.end <= end]
    out: dict[str, list[GroupOutcome]] = {}
    for grouping, keys_of in groupings.items():
        members: dict[str, list[OutcomeStay]] = defaultdict(list)
        names: dict[str, str] = {}
        for stay in ended:
            for key, name in keys_of(stay):
                members[key].append(stay)
                names[key] = name
        out[grouping] = [
            _group(grouping, key, names[key], members[key], as_of, returned_within)
            for key in sorted(members, key=lambda k: (k != "all", names[k], k))
        ]
    return out


def _group(
    grouping: str,
    key: str,
    name: str,
    ended: list[OutcomeStay],
    as_of: date,
    returned_within: Callable[[OutcomeStay, int], bool],
) -> GroupOutcome:
    departures = [s for s in ended if not s.ended_by_move]
    moved_on = [s for s in departures if s.reason == DepartureReason.planned_move_on]
    alive = [s for s in departures if s.reason != DepartureReason.death]
    sustained, returned = [], []
    for months, window in WINDOWS.items():

        def judged(s: OutcomeStay, window: int = window) -> bool:
            assert s.end is not None
            return s.end + timedelta(days=window) <= as_of

        old = [s for s in moved_on if judged(s)]
        sustained.append(
            FollowUp(
                months,
                Share(sum(1 for s in old if not returned_within(s, window)), len(old)),
                len(moved_on) - len(old),
            )
        )
        old = [s for s in alive if judged(s)]
        back = sum(
            1
            for s in old
            if s.destination == Destination.rough_sleeping or returned_within(s, window)
        )
        returned.append(FollowUp(months, Share(back, len(old)), len(alive) - len(old)))
    lengths = [(s, s.days) for s in ended if s.days is not None]
    limited = [(s, d) for s, d in lengths if STAY_TARGETS[s.pathway].max_days is not None]
    pathways = {s.pathway for s in ended}
    target = STAY_TARGETS[next(iter(pathways))] if len(pathways) == 1 else None
    return GroupOutcome(
        grouping=grouping,
        key=key,
        name=name,
        stays_ended=len(ended),
        departures=len(departures),
        transfers_out=len(ended) - len(departures),
        planned_move_on=Share(len(moved_on), len(departures)),
        evictions=Share(
            sum(1 for s in departures if s.reason == DepartureReason.eviction), len(departures)
        ),
        abandonments=Share(
            sum(1 for s in departures if s.reason == DepartureReason.abandonment),
            len(departures),
        ),
        sustained=sustained,
        returned=returned,
        median_stay_days=float(median(d for _, d in lengths)) if lengths else None,
        past_target=Share(
            sum(1 for s, d in limited if d > (STAY_TARGETS[s.pathway].max_days or 0)),
            len(limited),
        ),
        target_days=target.average_days if target else None,
        limit_days=target.max_days if target else None,
    )


def outcomes(
    session: Session,
    first: date | None,
    last: date | None,
    as_of: date,
    sees_personal_data: bool,
    groupings: Mapping[str, Grouping] = GROUPINGS,
) -> OutcomeReport:
    """The outcome figures of the stays that ended in [first, last] (422 naming `from` or
    `to` for a range missing, inverted or too long)."""
    start, end = check_range(first, last)
    all_stays, seen = history(session)
    keys = {name: grouping(session, sees_personal_data) for name, grouping in groupings.items()}
    groups = outcome_figures(all_stays, seen, start, end, as_of, keys)
    notes = []
    unknown = sum(
        1
        for s in all_stays
        if s.end is not None and start <= s.end <= end and not s.ended_by_move and not s.reason
    )
    if unknown:
        notes.append(
            f"{unknown} departures have no reason recorded: they count as departures, and as "
            "neither planned move-ons, evictions nor abandonments."
        )
    return OutcomeReport(start=start, end=end, as_of=as_of, groups=groups, notes=notes)


__all__ = [
    "GROUPINGS",
    "WINDOWS",
    "FollowUp",
    "GroupOutcome",
    "Grouping",
    "OutcomeReport",
    "OutcomeStay",
    "Presentation",
    "Share",
    "history",
    "outcome_figures",
    "outcomes",
]
