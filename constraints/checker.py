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
from constraints.rule import PairRule, SupportPlace, build_places
from matcher.errors import Issue, ProblemInvalid
from matcher.model import (
    Assignment,
    Problem,
    Referral,
    Resident,
    Solution,
    SupportPlacement,
)

__all__ = ["Violation", "check", "resident_violations", "support_placement_violations"]


def check(problem: Problem, solution: Solution) -> list[Violation]:
    """Every hard rule the solution's assignments break (empty if none)."""
    _reject_unknown_ids(problem, solution.assignments, solution.support_placements)
    return [
        *_violations(problem, solution.assignments, support_placements=solution.support_placements),
        *floor_violations(problem, solution),
    ]


def support_placement_violations(
    problem: Problem, placements: list[SupportPlacement]
) -> list[Violation]:
    """Every hard rule these support-only placements break, nobody else newly placed: the
    ranking's and the service's question before a team is offered alone."""
    _reject_unknown_ids(problem, [], placements)
    return list(_violations(problem, [], support_placements=placements))


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


def _reject_unknown_ids(
    problem: Problem,
    assignments: list[Assignment],
    support_placements: list[SupportPlacement] | None = None,
) -> None:
    referrals = {r.id for r in problem.referrals}
    beds = {b.id for b in problem.bedspaces}
    teams = {t.id for t in problem.support_teams}
    issues = []
    for i, s in enumerate(support_placements or ()):
        if s.referral not in referrals:
            issues.append(
                Issue(("support_placements", i, "referral"), f"unknown referral id {s.referral!r}")
            )
        if s.support_team not in teams:
            issues.append(
                Issue(
                    ("support_placements", i, "support_team"),
                    f"unknown support team id {s.support_team!r}",
                )
            )
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
    problem: Problem,
    assignments: list[Assignment],
    free_beds: bool = True,
    support_placements: list[SupportPlacement] | None = None,
) -> Iterable[Violation]:
    # Places only for the bed-spaces assigned: building one for every bed-space cost more
    # than the rules did when one person is placed among 10,000 bed-spaces.
    assigned = {a.bedspace for a in assignments}
    places = (
        {place.bed.id: place for place in build_places(problem, only=assigned)} if assigned else {}
    )
    placed = Placed.of(
        problem,
        assignments,
        places,
        reserve_applies=free_beds,
        support_placements=support_placements,
    )
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
    # Each support-only placement against the rules that also govern support at home.
    yield from _support_pair_violations(placed, pair_rules)
    # Then the newcomers together.
    for rule in coupled_in_force:
        if rule not in structural:
            yield from rule.violations(placed)


def _support_pair_violations(placed: Placed, pair_rules: list[PairRule]) -> Iterable[Violation]:
    teams = placed.teams
    for s in placed.support_placements:
        referral = placed.referrals[s.referral]
        home = SupportPlace(placed.problem, referral.home_area, teams[s.support_team])
        for pair_rule in pair_rules:
            if pair_rule.support_form is not None and not pair_rule.support_form(referral, home):
                yield Violation(
                    rule=pair_rule.name,
                    message=f"{referral.id} with team {s.support_team} at home: "
                    f"{pair_rule.support_reason}",
                    referrals=[referral.id],
                )
