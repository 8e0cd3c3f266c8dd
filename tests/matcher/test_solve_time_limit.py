"""A short time limit on a large instance still returns a checked allocation with a bound."""

from __future__ import annotations

from constraints.checker import check
from fixtures.generator import generate
from matcher.solve import solve


def test_one_second_on_a_large_instance() -> None:
    problem = generate(11, 1500, 3000)
    solution = solve(problem, "cpsat", 1.0)
    assert check(problem, solution) == []
    assert solution.status in ("feasible", "fallback", "optimal")
    assert solution.bound is not None and solution.bound >= solution.objective
    assert solution.gap is not None and 0 <= solution.gap <= 1
    assert len(solution.assignments) > 0
    assert len(solution.assignments) + len(solution.unplaced) == 1500
