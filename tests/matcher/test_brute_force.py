"""On tiny instances the solver's optimum equals the best of every possible allocation.

The enumerator knows no rule: it tries every referral in every free bed-space with every
team (or none), keeps what the checker accepts, and ranks by the lexicographic objective. It
skips only the partial allocations that the objective alone shows cannot win, and gives up
an example (hypothesis draws another) past `MOST_NODES` of them: with seed 210 one example
had run for over 7 minutes before the bound, and 3 of 43 are given up now.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, reject, settings

from constraints.checker import check
from matcher.model import Assignment, Problem, Solution
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value
from tests.matcher.tiny import placeable_problems
from tests.strategies import problems

# Rules that a later placement can repair (a couple's partner), so partial allocations
# breaking them must still be extended.
REPAIRABLE = {"keep_together_same_unit_or_neither"}


# Partial allocations an enumeration may try before its example is given up (`reject`):
# a permissive instance of 7 referrals and 8 bed-spaces has hundreds of millions of valid
# allocations, which no bound prunes when everybody fits.
MOST_NODES = 20_000


class _TooMany(Exception):
    pass


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
    # The objective adds up over placements, so what the referrals still to come could add
    # at most bounds every completion of a partial allocation (branch and bound); the best
    # options are tried first. No rule is used for this, only the objective.
    worth = {
        id(a): np.array(lexicographic_value(problem, Solution(assignments=[a])))
        for o in options
        for a in o
    }
    for opts in options:
        opts.sort(key=lambda a: tuple(worth[id(a)]), reverse=True)
    most = [
        np.maximum(np.max([worth[id(a)] for a in opts], axis=0), 0) if opts else np.zeros(6, int)
        for opts in options
    ]
    still_to_come = np.cumsum(np.array([*most, np.zeros(6, int)])[::-1], axis=0)[::-1]
    best = lexicographic_value(problem, Solution())
    nodes = 0

    def extend(i: int, chosen: list[Assignment], value: np.ndarray) -> None:
        nonlocal best, nodes
        nodes += 1
        if nodes > MOST_NODES:
            raise _TooMany
        if tuple(value + still_to_come[i]) <= best:
            return
        if i == len(options):
            solution = Solution(assignments=chosen)
            if not check(problem, solution):
                best = max(best, lexicographic_value(problem, solution))
            return
        for option in options[i]:
            candidate = [*chosen, option]
            if not _breaks(problem, candidate, ignore=REPAIRABLE):
                extend(i + 1, candidate, value + worth[id(option)])
        extend(i + 1, chosen, value)

    try:
        extend(0, [], np.zeros(6, dtype=np.int64))
    except _TooMany:
        reject()
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
