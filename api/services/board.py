"""What Housing Options and commissioners see: vacancies, move-out dates and aggregates.
Nothing here carries a person's id or details."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.orm import AllocationRunRow, OverrideRow, PlacementRow, ReferralRow
from api.schemas import MoveOut, Stats
from api.services.assemble import due_to_leave, held
from capacity.vacancies import VacancyBoard, VacancyFilters, bedspace_free_from, vacancies
from matcher.model import Problem


def vacancy_board(
    problem: Problem,
    filters: VacancyFilters | None = None,
    *,
    within_days: int = 28,
    show_confidential: bool = False,
) -> VacancyBoard:
    """The vacancy board of the service's problem, bed-spaces due to leave and held by an
    open offer counted apart."""
    return vacancies(
        problem,
        filters,
        within_days=within_days,
        show_confidential=show_confidential,
        due_to_leave=due_to_leave(problem).keys(),
        held=held(problem).keys(),
    )


def move_outs(problem: Problem, within_days: int) -> list[MoveOut]:
    """Bed-spaces whose occupant is expected to leave within the window, soonest first:
    first those due to leave (the date has passed, no move-out is recorded yet)."""
    horizon = problem.as_of + timedelta(days=within_days)
    unit_of = {b.id: b.unit for b in problem.bedspaces}
    found = [
        MoveOut(bedspace=r.bedspace, unit=unit_of[r.bedspace], expected_leave=r.expected_leave)
        for r in problem.residents
        if problem.resident_is_present(r)
        and r.expected_leave is not None
        and r.expected_leave <= horizon
    ]
    found += [
        MoveOut(bedspace=bed, unit=unit_of[bed], expected_leave=day, due_to_leave=True)
        for bed, day in due_to_leave(problem).items()
    ]
    return sorted(found, key=lambda m: (m.expected_leave, m.bedspace))


def stats(session: Session, problem: Problem) -> Stats:
    free_from = bedspace_free_from(problem)
    as_of: date = problem.as_of
    occupied = sum(1 for r in problem.residents if problem.resident_is_present(r))
    by_priority = {str(p): 0 for p in range(1, 6)}
    for referral in problem.referrals:
        by_priority[str(referral.priority)] += 1
    beds = len(problem.bedspaces)

    def count(query: object) -> int:
        return int(session.scalar(query) or 0)  # type: ignore[call-overload]

    return Stats(
        as_of=as_of,
        bedspaces=beds,
        occupied=occupied,
        free_now=sum(1 for d in free_from.values() if d is not None and d <= as_of),
        waiting_referrals=len(problem.referrals),
        waiting_by_priority=by_priority,
        placed_referrals=count(
            select(func.count()).select_from(ReferralRow).where(ReferralRow.status == "placed")
        ),
        placements=count(select(func.count()).select_from(PlacementRow)),
        overrides=count(select(func.count()).select_from(OverrideRow)),
        runs=count(select(func.count()).select_from(AllocationRunRow)),
        occupancy=round(occupied / beds, 4) if beds else 0.0,
    )
