"""The priced LP: every bound it gives is a true bound, and it reaches the whole LP's optimum."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fixtures import generate
from matcher.backends import mip_prover
from matcher.backends.classes import build_instance
from matcher.backends.greedy import greedy_placements
from matcher.backends.linear import LinearModel
from matcher.backends.priced_lp import (
    RestrictedLp,
    best_per_referral,
    lagrangian_terms,
    priced_lp,
    starting_columns,
)
from matcher.backends.reduced_model import build_model, encode
from matcher.backends.submodel import SparseModel
from matcher.model import Problem
from matcher.solve import solve
from tests.matcher.helpers import band_stages, lexicographic_value
from tests.matcher.tiny import small_problems

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


def knapsack() -> SparseModel:
    """Three people of 3 hours each, 7 hours of room (LP optimum 7/3), and a two-way row."""
    model = LinearModel()
    model.add_vars(3, 0, 1)
    model.add_row([0, 1, 2], [3, 3, 3], None, 7)
    model.add_row([0, 1], [1, -1], -1, 1)
    return SparseModel.of(model)


@settings(max_examples=60, deadline=None)
@given(prices=st.lists(st.floats(-5, 5), min_size=2, max_size=2))
def test_any_prices_bound_the_lp_from_above(prices: list[float]) -> None:
    model = knapsack()
    objective = np.array([1.0, 1.0, 1.0])
    terms = lagrangian_terms(
        model, model.lower.astype(float), model.upper.astype(float), objective, np.array(prices)
    )
    assert terms.bound >= 7 / 3 - 1e-9
    assert terms.reduced.shape == (3,)


def stage_models(problem: Problem) -> list[tuple[Any, ...]]:
    """Each band stage as the backend sees it: the model with the bands above held at their
    optimum, the free mask, the objective over the model, the stage's integer optimum, the
    columns to start from, and the stage as a sub-model."""
    out = []
    incumbent: np.ndarray | None = None
    for at in band_stages(problem):
        inst = at.inst
        if incumbent is None:
            incumbent = encode(inst, at.layout, greedy_placements(inst))
        start = starting_columns(
            inst.pair_ref,
            inst.pair_points,
            at.free[: at.layout.n_pairs],
            incumbent,
            at.full.n_vars,
            per_referral=1,
        )
        out.append((at.full, at.free, at.objective, at.optimum, start, at.sub))
        incumbent = np.zeros(at.full.n_vars, dtype=np.int64)
        incumbent[at.sub.free] = at.values
    return out


@settings(max_examples=15, deadline=None)
@given(
    problem=small_problems(),
    dual_simplex=st.booleans(),
)
def test_the_priced_bound_is_at_or_above_every_stage_optimum_and_meets_the_lp(
    problem: Problem, dual_simplex: bool
) -> None:
    for full, free, objective, optimum, start, sub in stage_models(problem):
        # Each referral's best pair to start from: the pricing has to bring the rest in.
        priced = priced_lp(full, free, objective, start, 20.0, dual_simplex=dual_simplex)
        whole = mip_prover.relax(sub.model, objective[sub.free], 20.0)
        assert priced.integer_bound is not None and whole.value is not None
        assert priced.integer_bound >= optimum
        assert priced.bound == pytest.approx(whole.value, abs=1e-6)  # priced to the end


@pytest.mark.parametrize("dual_simplex", [False, True])
def test_the_priced_lp_starts_small_and_brings_in_what_it_lacks(dual_simplex: bool) -> None:
    problem = generate(1501, 300, 600)
    (full, free, objective, optimum, start, sub), *_ = stage_models(problem)
    priced = priced_lp(full, free, objective, start, 30.0, dual_simplex=dual_simplex)
    whole = mip_prover.relax(sub.model, objective[sub.free], 30.0)
    assert whole.value is not None and priced.bound is not None
    assert priced.bound == pytest.approx(whole.value, abs=1e-6)
    assert priced.integer_bound is not None and priced.integer_bound >= optimum
    assert int(start.sum()) < priced.columns <= int(free.sum())  # priced columns came in
    assert priced.rounds >= 2
    assert priced.warm_rounds >= 1  # a round bringing in few columns starts from the basis


def test_a_column_held_at_its_bound_is_never_priced_in() -> None:
    # Each of five people may take one of two places of one bed; their best-paying places are
    # closed (upper bound 0), so their reduced costs stay high whatever the prices.
    model = LinearModel()
    model.add_vars(10, 0, 1)
    for person in range(5):
        model.add_row([2 * person, 2 * person + 1], [1, 1], None, 1)
    model.add_row(list(range(1, 10, 2)), [1] * 5, None, 2)
    full = SparseModel.of(model)
    closed = np.arange(0, 10, 2)
    full = SparseModel(
        lower=full.lower,
        upper=np.where(np.isin(np.arange(10), closed), 0, full.upper),
        start=full.start,
        col=full.col,
        coef=full.coef,
        lo=full.lo,
        hi=full.hi,
    )
    objective = np.where(np.isin(np.arange(10), closed), 5, 1)
    free = np.ones(10, dtype=bool)
    start = np.zeros(10, dtype=bool)
    start[1] = True
    priced = priced_lp(full, free, objective, start, 10.0)
    assert priced.bound == pytest.approx(2.0)
    assert priced.columns <= 5  # the open places at most, never a closed one


@settings(max_examples=25, deadline=None)
@given(problem=small_problems())
def test_a_warm_round_finds_what_a_fresh_solve_of_the_same_columns_finds(
    problem: Problem,
) -> None:
    inst = build_instance(problem)
    layout = build_model(inst)
    full = SparseModel.of(layout.model)
    n_pairs = layout.n_pairs
    # Pairs of a couple that cannot share their unit are closed (`group_fit`): some pair
    # must be open for anybody to be placeable.
    assume(bool(np.any(full.upper[:n_pairs] > 0)))
    # Most placements: with only the count variables in, the LP places nobody (every row
    # holds with all at 0); the warm round brings in every pair from that basis.
    c = np.zeros(full.n_vars)
    c[:n_pairs] = 1.0
    lower, upper = full.lower.astype(float), full.upper.astype(float)
    counts_only = np.zeros(full.n_vars, dtype=bool)
    counts_only[n_pairs:] = True
    warm = RestrictedLp(full, lower, upper, c)
    warm.load(counts_only)
    first = warm.solve(10.0, warm=False)
    assert first is not None and first.value == pytest.approx(0.0, abs=1e-9)
    assert warm.can_warm_start
    warm.add(np.arange(n_pairs))
    from_basis = warm.solve(10.0, warm=True)
    fresh = RestrictedLp(full, lower, upper, c)
    fresh.load(np.ones(full.n_vars, dtype=bool))
    afresh = fresh.solve(10.0, warm=False)
    assert from_basis is not None and afresh is not None
    assert from_basis.value is not None and afresh.value is not None
    assert from_basis.value == pytest.approx(afresh.value, abs=1e-6)
    # An open pair may still be held at 0 by a row (a couple's partner has no bed-space in
    # the unit): only problems where somebody is placeable count.
    assume(afresh.value >= 1 - 1e-6)
    point = from_basis.values
    assert point is not None
    activity = np.bincount(
        full.row_of_entry(), weights=full.coef * point[full.col], minlength=full.n_rows
    )
    assert np.all(activity <= full.hi + 1e-6) and np.all(activity >= full.lo - 1e-6)
    assert np.all(point >= lower - 1e-9) and np.all(point <= upper + 1e-9)


@settings(max_examples=8, deadline=None)
@given(problem=small_problems())
def test_pricing_every_stage_changes_no_optimum(problem: Problem) -> None:
    priced = solve(problem, "cpsat", 20, num_workers=2, max_lp_variables=0)
    whole = solve(problem, "cpsat", 20, num_workers=2)
    assert priced.status == whole.status == "optimal"
    assert lexicographic_value(problem, priced) == lexicographic_value(problem, whole)


def test_a_medium_instance_priced_throughout_keeps_its_counts_and_bounds() -> None:
    problem = generate(3, 150, 300)
    priced = solve(problem, "cpsat", 30, num_workers=2, max_lp_variables=0)
    whole = solve(problem, "cpsat", 30, num_workers=2)
    assert priced.placed_by_priority == whole.placed_by_priority
    stage_log = priced.detail["stages"]  # type: ignore[attr-defined]
    stages_priced = [s for s in stage_log if "lp_priced_rounds" in s]
    assert stages_priced  # the pricing ran


@settings(max_examples=50, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 5), st.integers(-9, 9), st.booleans()), min_size=1, max_size=40
    ),
    per_referral=st.integers(1, 4),
)
def test_each_referral_keeps_its_best_active_pairs(
    pairs: list[tuple[int, int, bool]], per_referral: int
) -> None:
    pair_ref = np.array([r for r, _, _ in pairs], dtype=np.int64)
    score = np.array([s for _, s, _ in pairs], dtype=float)
    active = np.array([a for _, _, a in pairs], dtype=bool)
    chosen = best_per_referral(pair_ref, score, active, per_referral)
    assert not np.any(chosen & ~active)
    for r in np.unique(pair_ref):
        mine = np.flatnonzero((pair_ref == r) & active)
        kept = np.flatnonzero((pair_ref == r) & chosen)
        assert kept.size == min(per_referral, mine.size)
        left_out = np.setdiff1d(mine, kept)
        if kept.size and left_out.size:
            assert score[kept].min() >= score[left_out].max()
