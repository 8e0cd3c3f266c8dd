"""CP-SAT and PuLP solve the same model: their proven optima agree, band by band and in points."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.generator import generate
from matcher.backends import highs_worker
from matcher.model import Problem
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value
from tests.matcher.tiny import placeable_problems
from tests.strategies import problems


@settings(max_examples=20, deadline=None)
@given(problem=st.one_of(problems(max_referrals=10, max_beds=12), placeable_problems()))
def test_cpsat_and_pulp_reach_the_same_optimum(problem: Problem) -> None:
    cpsat = solve(problem, "cpsat", 20, num_workers=2)
    pulp = solve(problem, "pulp", 20)
    assert cpsat.status == pulp.status == "optimal"
    assert cpsat.placed_by_priority == pulp.placed_by_priority
    assert cpsat.objective == pulp.objective
    assert lexicographic_value(problem, cpsat) == lexicographic_value(problem, pulp)


def test_cpsat_and_pulp_agree_on_a_generated_instance() -> None:
    problem = generate(7, 120, 240)
    cpsat = solve(problem, "cpsat", 30, num_workers=8)
    pulp = solve(problem, "pulp", 30)
    assert cpsat.status == pulp.status == "optimal"
    assert cpsat.placed_by_priority == pulp.placed_by_priority
    assert cpsat.objective == pulp.objective


@pytest.mark.skipif(not highs_worker.available(), reason="highspy is not installed")
def test_highs_in_its_worker_agrees_with_cpsat() -> None:
    problem = generate(7, 120, 240)
    cpsat = solve(problem, "cpsat", 30, num_workers=8)
    highs = solve(problem, "pulp", 30, solver="highspy")
    assert highs.detail["solver"] == "highspy"
    assert cpsat.status == highs.status == "optimal"
    assert lexicographic_value(problem, cpsat) == lexicographic_value(problem, highs)
