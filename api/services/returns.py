"""The returns pack: a date range of the live service as the figures a commissioner is asked
for, each recounted from the stored events (referrals, placements and transfers, arrivals
and move-outs), each with the count it comes from, no person named.

Stays are read from the placement rows (a transfer ends one stay and begins the next) and the
residents' rows (arrival, move-out, why and where to); residents stored without a placement
(the people already in when the service began) have one stay from their arrival. A bed-space
counts as occupied from the day a person is placed in it until the day they leave it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import median

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.orm import BedSpaceRow, OfferRow, PlacementRow, ReferralRow, ResidentRow, UnitRow
from api.services.clocks import DA_RESPONSE, owes_da_response, referred_moment
from api.services.departure_reasons import DESTINATION_WORDS, REASON_WORDS
from capacity.length_of_stay import STAY_TARGETS
from capacity.quotas import WomenOnlyShare, women_only_share
from capacity.statistics import wait_quantiles
from capacity.vacancies import CONFIDENTIAL_NAME
from constraints.cohorts import COHORT_NAMES, cohorts_of_referral
from matcher.errors import Issue, ProblemInvalid
from matcher.model import Pathway, Problem, Referral

MAX_DAYS = 3 * 366  # a range longer than this is several returns, not one
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Stay:
    bedspace: str
    start: date | None  # None: before anything the service recorded
    end: date | None  # None: still there
    left_reason: str | None = None
    destination: str | None = None
    ended_by_move: bool = False  # ended by a transfer, not a move-out
    resident: str = ""  # the resident's id, which is their referral's
    support_team: str | None = None


@dataclass
class UnitReturn:
    unit: str
    name: str
    pathway: str
    bedspaces: int
    bed_days: int  # bed-days the unit's bed-spaces could be let in the range
    occupied_days: int
    void_days: int
    stays_ended: int
    median_stay_days: float | None
    past_target: int  # stays ended in the range longer than the pathway allows

    @property
    def occupancy(self) -> float | None:
        return self.occupied_days / self.bed_days if self.bed_days else None


@dataclass
class CohortWait:
    cohort: str
    name: str
    people: int  # waiting at some time in the range
    placed: int
    still_waiting: int
    median_days: float | None  # Kaplan-Meier, those still waiting counted as censored
    p90_days: float | None


@dataclass
class ReturnsPack:
    start: date
    end: date
    referrals_in: int
    placements: int
    transfers: int
    undone: int
    departures: int
    departures_by_reason: dict[str, int]
    departures_by_destination: dict[str, int]
    units: list[UnitReturn]
    women: WomenOnlyShare
    waiting_by_week: list[tuple[date, dict[int, int]]]
    cohort_waits: list[CohortWait]
    offers: int = 0
    offers_by_outcome: dict[str, int] = field(default_factory=dict)
    decline_reasons: dict[str, int] = field(default_factory=dict)
    da_responses_owed: int = 0  # priority-5 DA referrals referred in the range
    da_responses_met: int = 0  # offered or placed within 8 hours
    da_responses_late: int = 0  # offered or placed, after 8 hours
    da_responses_missing: int = 0  # neither yet, and the 8 hours have passed
    notes: list[str] = field(default_factory=list)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def check_range(start: date | None, end: date | None) -> tuple[date, date]:
    issues = []
    if start is None:
        issues.append(Issue(("query", "from"), "give the first day of the range"))
    if end is None:
        issues.append(Issue(("query", "to"), "give the last day of the range"))
    if start is not None and end is not None:
        if end < start:
            issues.append(Issue(("query", "to"), f"{end} is before the first day, {start}"))
        elif (end - start).days + 1 > MAX_DAYS:
            issues.append(Issue(("query", "to"), f"a range of at most {MAX_DAYS} days"))
    if issues:
        raise ProblemInvalid(issues)
    assert start is not None and end is not None
    return start, end


def _overlap(start: date | None, end: date | None, first: date, last: date) -> int:
    """Days of [start, end) within [first, last] (end None: still going, to `last`)."""
    low = max(start or first, first)
    high = min((end - timedelta(days=1)) if end is not None else last, last)
    return max(0, (high - low).days + 1)


def stays(session: Session) -> list[Stay]:
    """Every stay the stored events describe (see the module docstring)."""
    residents = {r.id: r for r in session.scalars(select(ResidentRow))}
    chains: dict[str, list[PlacementRow]] = defaultdict(list)
    for p in session.scalars(
        select(PlacementRow).where(PlacementRow.undone_at.is_(None)).order_by(PlacementRow.id)
    ):
        chains[p.referral].append(p)
    out: list[Stay] = []
    for person, resident in residents.items():
        chain = chains.get(person, [])
        if not chain:
            out.append(
                Stay(
                    resident.bedspace,
                    resident.arrived,
                    resident.left_on,
                    resident.left_reason,
                    resident.destination,
                    resident=person,
                    support_team=resident.support_team,
                )
            )
            continue
        for k, placement in enumerate(chain):
            last = k == len(chain) - 1
            out.append(
                Stay(
                    placement.bedspace,
                    placement.placed_on,
                    resident.left_on if last else chain[k + 1].placed_on,
                    resident.left_reason if last else None,
                    resident.destination if last else None,
                    ended_by_move=not last,
                    resident=person,
                    support_team=placement.support_team,
                )
            )
    return out


def returns_pack(
    session: Session,
    problem: Problem,
    first: date | None,
    last: date | None,
    sees_personal_data: bool,
) -> ReturnsPack:
    """The figures for [first, last], both days included (422 for a range missing, inverted
    or longer than `MAX_DAYS`)."""
    start, end = check_range(first, last)
    all_stays = stays(session)
    unit_rows = _unit_returns(session, all_stays, start, end, sees_personal_data)

    placements = list(
        session.scalars(
            select(PlacementRow).where(
                PlacementRow.placed_on >= start, PlacementRow.placed_on <= end
            )
        )
    )
    departures = [
        s for s in all_stays if s.end is not None and start <= s.end <= end and not s.ended_by_move
    ]
    reasons = Counter(
        REASON_WORDS.get(s.left_reason, s.left_reason) if s.left_reason else NOT_RECORDED  # type: ignore[call-overload]
        for s in departures
    )
    destinations = Counter(
        DESTINATION_WORDS.get(s.destination, s.destination) if s.destination else NOT_RECORDED  # type: ignore[call-overload]
        for s in departures
    )

    referrals = list(session.scalars(select(ReferralRow)))
    first_placed: dict[str, date] = {}
    for p in session.scalars(
        select(PlacementRow).where(PlacementRow.undone_at.is_(None)).order_by(PlacementRow.id)
    ):
        first_placed.setdefault(p.referral, p.placed_on)
    counted = [r for r in referrals if r.status != "withdrawn"]
    notes = []
    withdrawn = len(referrals) - len(counted)
    if withdrawn:
        notes.append(
            f"{withdrawn} withdrawn referrals are left out of the waiting figures: the date "
            "they were withdrawn is not recorded."
        )
    weeks = _waiting_by_week(counted, first_placed, start, end)
    cohort_waits = _cohort_waits(counted, first_placed, start, end)
    offers = [o for o in session.scalars(select(OfferRow)) if start <= o.made_at.date() <= end]
    owed = [r for r in referrals if start <= r.referred <= end and owes_da_response(r)]
    met, late, missing = _da_responses(session, owed, end)
    return ReturnsPack(
        start=start,
        end=end,
        referrals_in=sum(1 for r in referrals if start <= r.referred <= end),
        placements=sum(1 for p in placements if p.transfer_from is None and p.undone_at is None),
        transfers=sum(1 for p in placements if p.transfer_from is not None),
        undone=sum(1 for p in placements if p.undone_at is not None),
        departures=len(departures),
        departures_by_reason=dict(reasons.most_common()),
        departures_by_destination=dict(destinations.most_common()),
        units=unit_rows,
        women=women_only_share(problem),
        waiting_by_week=weeks,
        cohort_waits=cohort_waits,
        offers=len(offers),
        offers_by_outcome=dict(Counter(o.state for o in offers).most_common()),
        decline_reasons=dict(
            Counter(
                o.reason_code or NOT_RECORDED for o in offers if o.state == "declined"
            ).most_common()
        ),
        da_responses_owed=len(owed),
        da_responses_met=met,
        da_responses_late=late,
        da_responses_missing=missing,
        notes=notes,
    )


def _unit_returns(
    session: Session, all_stays: list[Stay], start: date, end: date, sees_personal_data: bool
) -> list[UnitReturn]:
    """Per unit: bed-days it could let, occupied and void, and the stays that ended."""
    beds_of: dict[str, list[BedSpaceRow]] = defaultdict(list)
    for b in session.scalars(select(BedSpaceRow).order_by(BedSpaceRow.id)):
        beds_of[b.unit].append(b)
    by_bed: dict[str, list[Stay]] = defaultdict(list)
    for s in all_stays:
        by_bed[s.bedspace].append(s)
    rows = []
    for unit in session.scalars(select(UnitRow).order_by(UnitRow.id)):
        mine = beds_of[unit.id]
        bed_days = occupied = 0
        for b in mine:
            opens = max(start, b.available_from) if b.available_from else start
            bed_days += max(0, (end - opens).days + 1)
            occupied += sum(_overlap(s.start, s.end, opens, end) for s in by_bed[b.id])
        ended = [
            s
            for b in mine
            for s in by_bed[b.id]
            if s.end is not None and start <= s.end <= end and not s.ended_by_move
        ]
        lengths = [(s.end - s.start).days for s in ended if s.start is not None and s.end]
        limit = STAY_TARGETS[Pathway(unit.pathway)].max_days
        confidential = unit.confidential_address and not sees_personal_data
        rows.append(
            UnitReturn(
                unit="" if confidential else unit.id,
                name=CONFIDENTIAL_NAME if confidential else (unit.name or unit.id),
                pathway=unit.pathway,
                bedspaces=len(mine),
                bed_days=bed_days,
                occupied_days=min(occupied, bed_days),
                void_days=max(0, bed_days - occupied),
                stays_ended=len(ended),
                median_stay_days=float(median(lengths)) if lengths else None,
                past_target=sum(1 for n in lengths if limit is not None and n > limit),
            )
        )
    return rows


def _waiting_by_week(
    referrals: list[ReferralRow], first_placed: dict[str, date], start: date, end: date
) -> list[tuple[date, dict[int, int]]]:
    """The people waiting on the first day of each week of the range, by priority."""
    weeks: list[tuple[date, dict[int, int]]] = []
    day = start
    while day <= end:
        waiting = Counter(
            r.priority
            for r in referrals
            if r.referred <= day and (r.id not in first_placed or first_placed[r.id] > day)
        )
        weeks.append((day, {p: waiting.get(p, 0) for p in range(1, 6)}))
        day += timedelta(days=7)
    return weeks


def _da_responses(session: Session, owed: list[ReferralRow], end: date) -> tuple[int, int, int]:
    """Of the 8-hour responses owed: (met, late, still missing though overdue by the range's
    end). A response is the first offer made or the first placement."""
    first_step = _first_steps(session)
    met = late = missing = 0
    horizon = datetime.combine(end + timedelta(days=1), time())
    for r in owed:
        due = referred_moment(r) + DA_RESPONSE
        step = first_step.get(r.id)
        if step is not None and step <= due:
            met += 1
        elif step is not None:
            late += 1
        elif due < horizon:
            missing += 1
    return met, late, missing


def _first_steps(session: Session) -> dict[str, datetime]:
    """Each referral's first response: its first offer made, or its first placement."""
    first: dict[str, datetime] = {}
    for referral, at in [
        *((o.referral, o.made_at) for o in session.scalars(select(OfferRow))),
        *((p.referral, p.placed_at) for p in session.scalars(select(PlacementRow))),
    ]:
        if referral not in first or at < first[referral]:
            first[referral] = at
    return first


def _cohort_waits(
    referrals: list[ReferralRow], first_placed: dict[str, date], start: date, end: date
) -> list[CohortWait]:
    """Per cohort, everyone who waited at some time in the range: days from referral to
    placement, or to the range's end for those still waiting (censored)."""
    rows: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for r in referrals:
        placed_on = first_placed.get(r.id)
        if r.referred > end or (placed_on is not None and placed_on < start):
            continue
        placed = placed_on is not None and placed_on <= end
        waited = ((placed_on if placed and placed_on else end) - r.referred).days
        model = Referral.model_validate(r, from_attributes=True)
        for cohort in ("all", *sorted(c.value for c in cohorts_of_referral(model))):
            rows[cohort].append((float(waited), placed))
    out = []
    for cohort in COHORT_NAMES:
        entries = rows.get(cohort, [])
        days = [w for w, _ in entries]
        ended = [p for _, p in entries]
        median_days, p90 = wait_quantiles(days, ended) if entries else (None, None)
        out.append(
            CohortWait(
                cohort=cohort,
                name=COHORT_NAMES[cohort],
                people=len(entries),
                placed=sum(ended),
                still_waiting=len(entries) - sum(ended),
                median_days=median_days,
                p90_days=p90,
            )
        )
    return out


__all__ = ["MAX_DAYS", "ReturnsPack", "check_range", "returns_pack", "stays"]
