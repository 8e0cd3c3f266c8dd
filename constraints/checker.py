"""The checker: every hard rule a solution breaks, all of them, in plain Python.

Written from the rules, not from any backend: pair rules are evaluated one assignment at a
time on `Place`s, and each rule that couples newcomers (`constraints.coupled`) counts them
afresh over the solution. Only the rules in force (`constraints.registry`) are checked.
Tests use it as the oracle for every backend, and `bedmatch check` exposes it. The cohort
floors of `policy.floors` are checked too (`constraints.floors`): policy, not safety, but a
solution that ignores them is not the one asked for.
"""

from __future__ import annotations

from collections.abc import Iterable

from constraints import PAIR_RULES, bedspace, coupled, registry, staffing
from constraints.coupled_rule import Placed, Violation
from constraints.floors import floor_violations
from constraints.rule import build_places
from matcher.errors import Issue, ProblemInvalid
from matcher.model import Assignment, Problem, Referral, Resident, Solution

__all__ = ["Violation", "check", "resident_violations"]


def check(problem: Problem, solution: Solution) -> list[Violation]:
    """Every hard rule the solution's assignments break (empty if none)."""
    _reject_unknown_ids(problem, solution.assignments)
    return [*_violations(problem, solution.assignments), *floor_violations(problem, solution)]


def resident_violations(problem: Problem) -> list[Violation]:
    """Every hard rule broken by the people already in place, checked as if just placed."""
    present = [r for r in problem.residents if problem.resident_is_present(r)]
    as_newcomers = problem.model_copy(
        update={"residents": [], "referrals": [_as_referral(problem, r) for r in present]}
    )
    placed = [Assignment(referral=r.id, bedspace=r.bedspace) for r in present]
    # Residents hold their own bed-space and came before any reserve or team assignment.
    not_for_residents = {
        rule.name
        for rule in (
            bedspace.bedspace_free_on_date,
            coupled.women_only_reserve_held,
            staffing.support_team_available,
            coupled.support_team_required,
        )
    }
    return [
        v
        for v in _violations(as_newcomers, placed, free_beds=False)
        if v.rule not in not_for_residents
    ]


def _as_referral(problem: Problem, resident: Resident) -> Referral:
    return Referral(
        id=resident.id,
        referred=resident.arrived or problem.as_of,
        age=resident.age,
        gender=resident.gender,
        risk=resident.risk,
        flags=resident.flags,
        support_hours=resident.support_hours,
    )


def _reject_unknown_ids(problem: Problem, assignments: list[Assignment]) -> None:
    referrals = {r.id for r in problem.referrals}
    beds = {b.id for b in problem.bedspaces}
    teams = {t.id for t in problem.support_teams}
    issues = []
    for i, a in enumerate(assignments):
        if a.referral not in referrals:
            issues.append(
                Issue(("assignments", i, "referral"), f"unknown referral id {a.referral!r}")
            )
        if a.bedspace not in beds:
            issues.append(
                Issue(("assignments", i, "bedspace"), f"unknown bed-space id {a.bedspace!r}")
            )
        if a.support_team is not None and a.support_team not in teams:
            issues.append(
                Issue(
                    ("assignments", i, "support_team"),
                    f"unknown support team id {a.support_team!r}",
                )
            )
    if issues:
        raise ProblemInvalid(issues)


def _violations(
    problem: Problem, assignments: list[Assignment], free_beds: bool = True
) -> Iterable[Violation]:
    # Places only for the bed-spaces assigned: building one for every bed-space cost more
    # than the rules did when one person is placed among 10,000 bed-spaces.
    assigned = {a.bedspace for a in assignments}
    places = {place.bed.id: place for place in build_places(problem, only=assigned)}
    placed = Placed.of(problem, assignments, places, reserve_applies=free_beds)
    coupled_in_force = registry.coupled_rules()
    # Rules on shared capacity are checked on the totals of all newcomers by their coupled
    # rule, which is stricter than each newcomer's pair check against the residents alone.
    on_totals = {form for rule in coupled_in_force if rule.on_totals for form in rule.pair_forms}
    in_force = registry.pair_rules_in_force()
    pair_rules = [rule for rule in PAIR_RULES if rule in in_force and rule not in on_totals]

    structural = [rule for rule in coupled_in_force if rule.family_number == 1]
    for rule in structural:
        yield from rule.violations(placed)
    # Each newcomer against the place and the residents already there.
    for a in assignments:
        referral, place = placed.referrals[a.referral], places[a.bedspace]
        for pair_rule in pair_rules:
            if not pair_rule(referral, place):
                yield Violation(
                    rule=pair_rule.name,
                    message=f"{referral.id} in {place.bed.id}: {pair_rule.reason}",
                    referrals=[referral.id],
                    bedspace=place.bed.id,
                )
    # Then the newcomers together.
    for rule in coupled_in_force:
        if rule not in structural:
            yield from rule.violations(placed)
