"""The LP relaxation of a band stage: a true ceiling, and a guide that changes no optimum."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from matcher.backends import mip_prover
from matcher.backends.classes import build_instance
from matcher.backends.linear import LinearModel, Row
from matcher.backends.reduced_model import build_model
from matcher.backends.submodel import SparseModel, restrict
from matcher.model import Problem
from matcher.objective import stages
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value
from tests.matcher.tiny import small_problems

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


def test_a_fractional_knapsack_optimum_rounds_down_to_the_integer_one() -> None:
    # Three people needing 3 hours each, 7 hours of room: the LP takes 7/3 of them.
    model = LinearModel()
    model.add_vars(3, 0, 1)
    model.add_row([0, 1, 2], [3, 3, 3], None, 7)
    out = mip_prover.relax(SparseModel.of(model), np.array([1, 1, 1]), 5.0)
    assert out.value == pytest.approx(7 / 3)
    assert out.bound == 2
    assert out.values is not None and out.reduced_costs is not None


@settings(max_examples=15, deadline=None)
@given(problem=small_problems())
def test_no_band_stage_places_more_than_its_lp_bound(problem: Problem) -> None:
    inst = build_instance(problem)
    layout = build_model(inst)
    full = SparseModel.of(layout.model)
    priority = inst.tables.referrals.priority[inst.pair_ref]
    for stage in stages(priority, inst.pair_points, inst.pair_group_priority()):
        free = np.ones(full.n_vars, dtype=bool)
        free[: layout.n_pairs] = stage.active
        sub = restrict(full, free, np.zeros(full.n_vars, dtype=np.int64))
        objective = np.zeros(len(sub.free), dtype=np.int64)
        pair_vars = sub.free < layout.n_pairs
        objective[pair_vars] = stage.coefficients[sub.free[pair_vars]]
        exact = mip_prover.maximise(sub.model, objective, 20.0)
        lp = mip_prover.relax(sub.model, objective, 20.0)
        assert exact.optimal and exact.values is not None
        assert lp.bound is not None
        optimum = int(objective @ exact.values)
        assert lp.bound >= optimum
        # The next stage holds this one at its optimum, as the backend does.
        nz = np.flatnonzero(stage.coefficients)
        full = full.with_rows([Row(nz, stage.coefficients[nz], optimum, None)])


@settings(max_examples=10, deadline=None)
@given(problem=small_problems())
def test_the_lp_guide_changes_no_optimum(problem: Problem) -> None:
    guided = solve(problem, "cpsat", 20, num_workers=2, lp_guide=True)
    plain = solve(problem, "cpsat", 20, num_workers=2, lp_guide=False)
    assert guided.status == plain.status == "optimal"
    assert lexicographic_value(problem, guided) == lexicographic_value(problem, plain)


@pytest.mark.parametrize("priced", [False, True])
def test_the_soft_stage_reports_its_lp_bound_and_meets_the_exact_optimum(priced: bool) -> None:
    """Bands proven, the soft stage's LP bound is reported instead of the trivial one (every
    referral in its best unit), and it is a true bound: at or above PuLP's proven optimum;
    whether the soft LP is solved whole or priced (`max_soft_lp_variables`)."""
    from constraints.checker import check
    from fixtures import generate
    from matcher.backends.relaxation import trivial_stage_bounds
    from matcher.objective import SOFT

    problem = generate(7, 100, 200, stress="women_heavy")
    options = {"max_soft_lp_variables": 0} if priced else {}
    guided = solve(problem, backend="cpsat", time_limit_s=30, **options)
    exact = solve(problem, backend="pulp", time_limit_s=60)
    assert exact.status == "optimal"
    assert check(problem, guided) == []
    assert guided.placed_by_priority == exact.placed_by_priority
    assert guided.bound >= exact.objective >= guided.objective
    assert guided.objective >= exact.objective * 0.99
    trivial = trivial_stage_bounds(build_instance(problem))[SOFT]
    assert guided.bound < trivial
    # With every band proven, the soft bound given the bands is the bound itself.
    for solution in (guided, exact):
        assert (solution.model_extra or {})["soft_bound_given_bands"] == solution.bound
    soft = [s for s in guided.detail["stages"] if s["stage"] == SOFT]
    assert soft and "lp_value" in soft[0]
    assert ("lp_priced_rounds" in soft[0]) == priced
