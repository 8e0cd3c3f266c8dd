"""Every backend, under any time limit, returns an allocation the checker accepts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints.checker import check
from matcher.model import Problem
from matcher.solve import solve
from tests.matcher.tiny import placeable_problems
from tests.strategies import problems


@pytest.mark.parametrize("backend", ["cpsat", "pulp", "greedy"])
@settings(max_examples=25, deadline=None)
@given(
    problem=st.one_of(problems(max_referrals=8, max_beds=10), placeable_problems()),
    time_limit=st.sampled_from([0.0, 0.05, 5.0]),
)
def test_no_backend_breaks_a_hard_rule(backend: str, problem: Problem, time_limit: float) -> None:
    solution = solve(
        problem, backend, time_limit, **({"num_workers": 2} if backend == "cpsat" else {})
    )
    assert check(problem, solution) == []
    placed = {a.referral for a in solution.assignments}
    unplaced = {u.referral for u in solution.unplaced}
    assert placed | unplaced == {r.id for r in problem.referrals}
    assert not placed & unplaced
    assert all(u.reasons for u in solution.unplaced)
    assert solution.bound is not None and solution.bound >= solution.objective
    for band, count in solution.placed_by_priority.items():
        assert count <= solution.placed_bound_by_priority[band]  # type: ignore[attr-defined]
