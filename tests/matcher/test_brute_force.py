"""On tiny instances the solver's optimum equals the best of every possible allocation.

The enumerator knows no rule: it tries every referral in every free bed-space with every
team (or none), keeps what the checker accepts, and ranks by the lexicographic objective.
"""

from __future__ import annotations

from hypothesis import given, settings

from constraints.checker import check
from matcher.model import Assignment, Problem, Solution
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value
from tests.matcher.tiny import placeable_problems
from tests.strategies import problems

# Rules that a later placement can repair (a couple's partner), so partial allocations
# breaking them must still be extended.
REPAIRABLE = {"keep_together_same_unit_or_neither"}


def brute_force_best(problem: Problem) -> tuple[int, ...]:
    teams: list[str | None] = [None, *(t.id for t in problem.support_teams)]
    options = [
        [
            Assignment(referral=r.id, bedspace=b.id, support_team=t)
            for b in problem.bedspaces
            for t in teams
        ]
        for r in problem.referrals
    ]
    # Options that break a rule on their own never appear in a valid allocation.
    options = [
        [a for a in opts if not _breaks(problem, [a], ignore=REPAIRABLE)] for opts in options
    ]
    best = lexicographic_value(problem, Solution())

    def extend(i: int, chosen: list[Assignment]) -> None:
        nonlocal best
        if i == len(options):
            solution = Solution(assignments=chosen)
            if not check(problem, solution):
                best = max(best, lexicographic_value(problem, solution))
            return
        extend(i + 1, chosen)
        for option in options[i]:
            candidate = [*chosen, option]
            if not _breaks(problem, candidate, ignore=REPAIRABLE):
                extend(i + 1, candidate)

    extend(0, [])
    return best


def _breaks(problem: Problem, assignments: list[Assignment], ignore: set[str]) -> bool:
    return any(v.rule not in ignore for v in check(problem, Solution(assignments=assignments)))


@settings(max_examples=40, deadline=None)
@given(problem=placeable_problems(max_referrals=7, max_beds=8))
def test_optimum_equals_brute_force(problem: Problem) -> None:
    solution = solve(problem, "cpsat", 20, num_workers=2)
    assert solution.status == "optimal"
    assert lexicographic_value(problem, solution) == brute_force_best(problem)


@settings(max_examples=15, deadline=None)
@given(problem=problems(max_referrals=6, max_beds=8, max_units=3))
def test_optimum_equals_brute_force_on_varied_rules(problem: Problem) -> None:
    solution = solve(problem, "pulp", 20)
    assert solution.status == "optimal"
    assert lexicographic_value(problem, solution) == brute_force_best(problem)
