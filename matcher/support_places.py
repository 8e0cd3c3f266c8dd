"""Support-only placements in a batch run: each home a place, so every backend places them.

A referral who may take a support team alone (`Referral.wants`) is given, for the run, a place
standing for their own home: a unit of one bed-space in their home area, staffed by visiting
support and listed in `Problem.home_places` as theirs, so nobody else may take it (the rule
that people are placed as they asked). The backends then place it as any visiting unit: a
team that may serve the person there (area, Housing First, female worker) within its
caseload, shared with the bed-spaces' teams. What the backends have no row for, a team's
hours for support at home, is kept afterwards by taking back the lowest-priority
support-only placements that overrun it. The places are the run's own: never stored, never
shown.
"""

from __future__ import annotations

from collections import defaultdict

from constraints import registry
from constraints.coupled import team_hours_left, team_support_hours_within_capacity
from constraints.staffing import HOURS_TOLERANCE
from matcher.limits import AGE_MAX
from matcher.model import (
    Assignment,
    BedSpace,
    GenderPolicy,
    Pathway,
    Problem,
    Referral,
    Risk,
    Solution,
    Staffing,
    SupportPlacement,
    Unit,
    UnitKind,
    Unplaced,
)

# Real ids never hold a colon (`matcher.limits.Id`), so a home's place never meets one.
HOME_PREFIX = "home:"


def wants_support(problem: Problem) -> bool:
    return any(r.may_take_support_only for r in problem.referrals)


def home_id(referral_id: str) -> str:
    return HOME_PREFIX + referral_id


def with_homes(problem: Problem) -> Problem:
    """The problem with a place for each home where a team in the area might give support.
    Built without validation: its ids are the run's own (see `HOME_PREFIX`)."""
    team_areas = {t.area for t in problem.support_teams}
    homes = [
        r
        for r in problem.referrals
        if r.may_take_support_only and r.home_area is not None and r.home_area in team_areas
    ]
    units = [_home_unit(r) for r in homes]
    beds = [
        BedSpace.model_construct(id=home_id(r.id), unit=home_id(r.id), accessible=True)
        for r in homes
    ]
    return problem.model_copy(
        update={
            "units": [*problem.units, *units],
            "bedspaces": [*problem.bedspaces, *beds],
            "home_places": {home_id(r.id): r.id for r in homes},
        }
    )


def _home_unit(referral: Referral) -> Unit:
    # Everything about a building is left open (the person already lives there); what the
    # rules still ask is what they ask of a team: visiting support in the home's area.
    return Unit.model_construct(
        id=home_id(referral.id),
        name="",
        area=referral.home_area,
        kind=UnitKind.family if referral.household_size > 1 else UnitKind.adult_mixed,
        gender_policy=GenderPolicy.mixed,
        self_contained=True,
        min_age=16,
        max_age=AGE_MAX,
        under_18_approved=True,
        staffing=Staffing.visiting,
        mappa_approved=True,
        max_risk=Risk.very_high,
        max_high_risk_residents=1,
        support_hours_capacity=float(referral.support_hours) + 1.0,
        offers=[],
        pathway=Pathway.recovery,
        confidential_address=False,
        address=None,
    )


def from_homes(problem: Problem, solution: Solution) -> Solution:
    """The run's solution in the problem's own terms: placements in homes become support
    placements; any a team's hours for support at home cannot carry are taken back."""
    beds: list[Assignment] = []
    support: list[SupportPlacement] = []
    for a in solution.assignments:
        if not a.bedspace.startswith(HOME_PREFIX):
            beds.append(a)
        elif a.support_team is not None:
            support.append(
                SupportPlacement(
                    referral=a.referral, support_team=a.support_team, score=a.score, terms=a.terms
                )
            )
    kept, taken_back = _within_team_hours(problem, support)
    unplaced = list(solution.unplaced)
    if taken_back:
        reason = team_support_hours_within_capacity.reason
        unplaced += [Unplaced(referral=s.referral, reasons=[reason]) for s in taken_back]
        unplaced.sort(key=lambda u: u.referral)
    by_priority = dict(solution.placed_by_priority)
    priority = {r.id: r.priority for r in problem.referrals}
    for s in taken_back:
        band = str(priority[s.referral])
        by_priority[band] = by_priority.get(band, 1) - 1
    update: dict[str, object] = {
        "assignments": beds,
        "support_placements": kept,
        "unplaced": unplaced,
        "placed_by_priority": by_priority,
    }
    if taken_back and solution.status == "optimal":
        update["status"] = "feasible"
    return solution.model_copy(update=update)


def _within_team_hours(
    problem: Problem, support: list[SupportPlacement]
) -> tuple[list[SupportPlacement], list[SupportPlacement]]:
    if not registry.in_force(team_support_hours_within_capacity):
        return support, []
    referrals = {r.id: r for r in problem.referrals}
    by_team: dict[str, list[SupportPlacement]] = defaultdict(list)
    for s in support:
        by_team[s.support_team].append(s)
    kept: list[SupportPlacement] = []
    taken_back: list[SupportPlacement] = []
    for team_id, placements in by_team.items():
        left = team_hours_left(problem, team_id)
        # Most urgent first, then longest waiting: those past the hours left are taken back.
        placements.sort(
            key=lambda s: (-referrals[s.referral].priority, referrals[s.referral].referred)
        )
        for s in placements:
            hours = referrals[s.referral].support_hours
            if hours <= left + HOURS_TOLERANCE:
                kept.append(s)
                left -= hours
            else:
                taken_back.append(s)
    kept.sort(key=lambda s: s.referral)
    return kept, taken_back
