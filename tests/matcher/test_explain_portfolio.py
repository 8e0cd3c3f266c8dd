"""Portfolio changes: what `explain --all` states, re-solving with the change bears out."""

from __future__ import annotations

from hypothesis import given, settings

from constraints.checker import check
from fixtures.generator import generate
from matcher.backends.classes import Assignment3, build_instance
from matcher.backends.greedy import greedy_placements
from matcher.change_screening import BANDS, Baseline, area_additions
from matcher.explain_portfolio import explain_all
from matcher.model import Assignment, Problem, Solution
from matcher.portfolio_changes import apply_change, candidate_changes
from matcher.ranking import build_context, rank
from matcher.solve import solve
from tests.strategies import problems


def as_solution(problem: Problem, placements: list[Assignment3]) -> Solution:
    refs, beds, teams = problem.referrals, problem.bedspaces, problem.support_teams
    return Solution(
        assignments=[
            Assignment(
                referral=refs[r].id,
                bedspace=beds[b].id,
                support_team=None if t is None else teams[t].id,
            )
            for r, b, t in placements
        ]
    )


def counted(problem: Problem, solution: Solution) -> dict[str, int]:
    priority = {r.id: r.priority for r in problem.referrals}
    bands = [priority[a.referral] for a in solution.assignments]
    return {str(band): bands.count(band) for band in BANDS}


@settings(max_examples=20)
@given(problems(max_referrals=10, max_beds=10))
def test_applying_a_change_and_solving_places_the_stated_numbers(problem: Problem) -> None:
    answer = explain_all(problem, changes=5, shortlist=1, time_limit_s=10)
    start = greedy_placements(build_instance(problem))
    for effect in answer.changes:
        changed = apply_change(problem, effect.change)
        if effect.proven:
            solution = solve(changed, "cpsat", 10)
        else:
            solution = as_solution(changed, greedy_placements(build_instance(changed), start=start))
        assert check(changed, solution) == []
        placed = counted(changed, solution)
        for band in effect.placed_by_priority:
            assert placed[band] >= effect.placed_by_priority[band], (effect.change, band)


@settings(max_examples=30)
@given(problems(max_referrals=10, max_beds=10))
def test_screening_on_an_area_is_valid_on_the_whole_changed_problem(problem: Problem) -> None:
    baseline = Baseline.build(problem)
    kept = as_solution(problem, baseline.placements).assignments
    for change in candidate_changes(baseline.inst, baseline.placements):
        small, added = area_additions(baseline, change)
        merged = Solution(assignments=[*kept, *as_solution(small, added).assignments])
        assert check(apply_change(problem, change), merged) == [], change


@settings(max_examples=20)
@given(problems(max_referrals=10, max_beds=10))
def test_unplaceable_people_are_those_the_ranking_cannot_place(problem: Problem) -> None:
    answer = explain_all(problem, shortlist=0)
    context = build_context(problem)
    listed = {r for group in answer.unplaceable for r in group.referrals}
    for referral in problem.referrals:
        placeable = rank(context, referral.id, top=1, cost_top=0, detail="summary").ranked
        assert (referral.id in listed) == (not placeable), referral.id
    for group in answer.unplaceable:
        assert sum(group.by_priority.values()) == len(group.referrals)
        assert all(1 <= family <= 9 for family in group.families)


def test_a_generated_city_has_changes_that_bear_out() -> None:
    problem = generate(3, 60, 80)
    answer = explain_all(problem, changes=4, shortlist=1, time_limit_s=20)
    assert answer.changes and answer.unplaceable
    start = greedy_placements(build_instance(problem))
    for effect in answer.changes:
        assert any(effect.gain_by_priority.values())
        changed = apply_change(problem, effect.change)
        solution = (
            solve(changed, "cpsat", 20)
            if effect.proven
            else as_solution(changed, greedy_placements(build_instance(changed), start=start))
        )
        assert check(changed, solution) == []
        placed = counted(changed, solution)
        assert all(placed[b] >= n for b, n in effect.placed_by_priority.items())
