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


@pytest.mark.parametrize("backend", ["cpsat", "pulp", "greedy"])
@settings(max_examples=20, deadline=None)
@given(
    problem=problems(max_referrals=8, max_beds=8, support_only=True),
    time_limit=st.sampled_from([0.0, 5.0]),
)
def test_no_backend_breaks_a_team_rule_with_support_only_referrals(
    backend: str, problem: Problem, time_limit: float
) -> None:
    solution = solve(
        problem, backend, time_limit, **({"num_workers": 2} if backend == "cpsat" else {})
    )
    assert check(problem, solution) == []
    referrals = {r.id: r for r in problem.referrals}
    in_beds = {a.referral for a in solution.assignments}
    at_home = {s.referral for s in solution.support_placements}
    unplaced = {u.referral for u in solution.unplaced}
    assert in_beds | at_home | unplaced == set(referrals)
    assert not in_beds & at_home and not (in_beds | at_home) & unplaced
    assert all(referrals[r].may_take_bed for r in in_beds)
    assert all(referrals[r].may_take_support_only for r in at_home)
