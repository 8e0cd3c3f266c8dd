"""What a coordinator reads about a batch run: what the solver achieved in plain words, each
proposal with the person's priority, the unit by name and why, and which proposals are no
longer possible because the data moved on since the run: the bed-space was taken, the person
placed or withdrawn, or, checked by the checker against the data as it is now, the rest no
longer fit together (a unit's support hours used by a placement made by hand meanwhile)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.orm import (
    AllocationResultRow,
    AllocationRunRow,
    BedSpaceRow,
    OfferRow,
    PlacementRow,
    ReferralRow,
    UnitRow,
)
from constraints.checker import check
from matcher.model import Assignment, Problem, Solution
from matcher.ranking import RankingContext


@dataclass(frozen=True)
class Proposal:
    referral: str
    priority: int
    unit: str  # by name
    bedspace: str
    support_team: str | None
    why: tuple[str, ...]
    accepted: bool
    # Why it can no longer be accepted as it stands (None: it still can).
    stale: str | None


def outcome(run: AllocationRunRow, proposed: int, considered: int) -> str:
    """The solver's result as a coordinator would say it."""
    placed = f"{proposed} of the {considered} people waiting would be placed."
    if run.solve_status == "optimal":
        return f"{placed} No allocation under the rules places more, band by band (proven)."
    if run.solve_status == "feasible":
        return (
            f"{placed} The solver stopped at its time limit: this allocation breaks no rule, "
            "but one placing more people may exist."
        )
    if run.solve_status == "fallback":
        return (
            f"{placed} The solver found nothing better in time, so this is the quick "
            "allocation (each person in turn); it breaks no rule."
        )
    return placed


def proposals(
    session: Session,
    run: AllocationRunRow,
    rows: Sequence[AllocationResultRow],
    context: RankingContext | None,
) -> list[Proposal]:
    """The run's proposals, each with what makes it possible or not today."""
    proposed = [r for r in rows if r.bedspace is not None]
    ids = [r.referral for r in proposed]
    beds = [r.bedspace for r in proposed if r.bedspace is not None]
    people = {p.id: p for p in session.scalars(select(ReferralRow).where(ReferralRow.id.in_(ids)))}
    unit_of = {
        bed: name or unit
        for bed, unit, name in session.execute(
            select(BedSpaceRow.id, UnitRow.id, UnitRow.name)
            .join(UnitRow, UnitRow.id == BedSpaceRow.unit)
            .where(BedSpaceRow.id.in_(beds))
        )
    }
    # Placements made into the proposed bed-spaces since the run, other than its own.
    taken = {
        bed: referral
        for bed, referral in session.execute(
            select(PlacementRow.bedspace, PlacementRow.referral).where(
                PlacementRow.bedspace.in_(beds),
                PlacementRow.placed_at >= run.created_at,
                (PlacementRow.run_id != run.id) | PlacementRow.run_id.is_(None),
            )
        )
    }
    # A bed-space the person declined is not proposed to them again (LIFECYCLE.md).
    declined = {
        (referral, bed)
        for referral, bed in session.execute(
            select(OfferRow.referral, OfferRow.bedspace).where(
                OfferRow.referral.in_(ids), OfferRow.state == "declined"
            )
        )
    }
    answer = []
    for row in proposed:
        bed = row.bedspace or ""
        person = people.get(row.referral)
        answer.append(
            Proposal(
                referral=row.referral,
                priority=person.priority if person is not None else 0,
                unit=unit_of.get(bed, bed),
                bedspace=bed,
                support_team=row.support_team,
                why=_why(context, row.referral, bed),
                accepted=row.accepted,
                stale=None
                if row.accepted
                else (
                    "no longer proposed: this person declined this bed-space"
                    if (row.referral, bed) in declined
                    else _stale(person, taken.get(bed), row.referral)
                ),
            )
        )
    return answer


def _stale(person: ReferralRow | None, taken_by: str | None, referral: str) -> str | None:
    if person is None or person.status != "waiting":
        status = "gone" if person is None else person.status
        return f"no longer possible: this person is {status} now"
    if taken_by is not None and taken_by != referral:
        return "no longer possible: someone has been placed in this bed-space since the run"
    return None


def _why(context: RankingContext | None, referral: str, bedspace: str) -> tuple[str, ...]:
    """The placement's reasons as the ranking words them, where the person still waits."""
    if context is None:
        return ()
    tables = context.tables
    bed = tables.beds.index.get(bedspace)
    if not context.is_waiting(referral) or bed is None:
        return ()
    r = tables.referrals.index[referral]
    u = int(tables.beds.unit[bed])
    terms = context.scores.pair_terms(r, u)
    said = context.explainer.sentences(r, u)
    return tuple(said[t] for t in sorted(terms, key=lambda t: -terms[t]) if t in said)


def fitting_together(problem: Problem, shown: list[Proposal]) -> list[Proposal]:
    """The proposals, with those that no longer fit beside the others marked: the checker
    judges the open ones together against the data as it is now, and while it finds a
    broken rule, the lowest-priority person the rule names is left out, with its reason."""
    open_ = [p for p in shown if not p.accepted and p.stale is None]
    by_id = {p.referral: p for p in open_}
    left_out: dict[str, str] = {}
    while True:
        keep = [p for p in open_ if p.referral not in left_out]
        assignments = [
            Assignment(referral=p.referral, bedspace=p.bedspace, support_team=p.support_team)
            for p in keep
        ]
        broken = check(problem, Solution(assignments=assignments)) if assignments else []
        named = [(v, r) for v in broken for r in v.referrals if r in by_id and r not in left_out]
        if not named:
            break
        violation, person = min(named, key=lambda vr: (by_id[vr[1]].priority, vr[1]))
        left_out[person] = f"no longer fits beside the others: {violation.message}"
    if broken:  # a rule no one proposal answers for: none of them is safe to place
        left_out.update(dict.fromkeys(by_id, "no longer fits: " + broken[0].message))
    return [replace(p, stale=left_out[p.referral]) if p.referral in left_out else p for p in shown]
