"""The model's arrays kept narrow for memory: the same numbers as before, never an overflow.

The sparse model's columns, coefficients and row numbers are int32 where every value fits (and
int64 where one does not); a band stage's coefficients are int8; the reduced costs and the rows'
activity bounds are summed a chunk of entries at a time; each soft term is kept on the model's
pairs only. None of it may
change a value the solver reads.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints.scores import score
from fixtures.generator import generate
from matcher.backends import group_fit, priced_lp
from matcher.backends.classes import build_instance
from matcher.backends.linear import LinearModel
from matcher.backends.narrow import narrow
from matcher.backends.reduced_model import build_model
from matcher.backends.submodel import SparseModel, restrict
from matcher.model import Problem
from matcher.objective import stages
from tests.strategies import problems


def test_a_value_beyond_int32_keeps_the_array_int64() -> None:
    assert narrow(np.array([0, 2**31 - 1])).dtype == np.int32
    assert narrow(np.array([-(2**31), 5])).dtype == np.int32
    wide = narrow(np.array([1, 2**31]))
    assert wide.dtype == np.int64 and wide.tolist() == [1, 2**31]
    assert narrow(np.array([-(2**31) - 1])).dtype == np.int64


def test_a_coefficient_beyond_int32_is_kept_whole_through_rows_and_restriction() -> None:
    # Support hours in steps of 1/1000 of a large room: coefficients past 2**31.
    big = 3 * 2**31
    model = LinearModel()
    model.add_vars(3, 0, 1)
    model.add_row([0, 1], [big, 1], None, big)
    model.add_row([1, 2], [1, 1], None, 1)
    full = SparseModel.of(model)
    assert full.coef.dtype == np.int64 and full.col.dtype == np.int32
    assert full.violated_rows(np.array([1, 1, 0])).tolist() == [0]
    assert full.violated_rows(np.array([1, 0, 1])).size == 0
    assert full.with_rows([]) is full
    sub = restrict(full, np.array([False, True, True]), np.array([1, 0, 0]))
    # With x0 = 1 fixed, row 0 leaves x1 room for big - big = 0.
    assert sub.model.hi.tolist()[0] == 0 and sub.model.coef.dtype == np.int64


def test_the_rows_are_let_go_once_the_sparse_model_is_made() -> None:
    inst = build_instance(generate(3, 40, 80))
    layout = build_model(inst)
    rows = len(layout.model.rows)
    before = SparseModel.of(layout.model)
    full = layout.sparse()
    assert layout.model.rows == [] and layout.size()["rows"] == rows == full.n_rows
    for name in ("start", "col", "coef", "lo", "hi", "lower", "upper"):
        assert np.array_equal(getattr(full, name), getattr(before, name))
    assert full.col.dtype == np.int32 and full.row_of_entry().dtype == np.int32
    with pytest.raises(ValueError, match="released"):
        SparseModel.of(layout.model)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), chunk=st.integers(1, 50))
def test_reduced_costs_summed_by_chunks_are_bincounts_to_the_last_bit(
    seed: int, chunk: int
) -> None:
    rng = np.random.default_rng(seed)
    n_vars, n_rows, n_entries = 30, 12, 200
    lengths = rng.multinomial(n_entries, np.ones(n_rows) / n_rows)
    start = np.concatenate([[0], np.cumsum(lengths)])
    model = SparseModel(
        lower=np.zeros(n_vars, dtype=np.int64),
        upper=np.ones(n_vars, dtype=np.int64),
        start=start,
        col=narrow(rng.integers(0, n_vars, n_entries)),
        coef=narrow(rng.integers(-50, 50, n_entries)),
        lo=np.zeros(n_rows, dtype=np.int64),
        hi=np.ones(n_rows, dtype=np.int64),
    )
    prices = rng.standard_normal(n_rows) * 10 ** rng.uniform(-6, 6, n_rows)
    rows = model.row_of_entry()
    expected = np.bincount(model.col, weights=model.coef * prices[rows], minlength=n_vars)
    old, priced_lp.COLUMN_SUM_CHUNK = priced_lp.COLUMN_SUM_CHUNK, chunk
    try:
        got = priced_lp.column_sums(model, prices, rows)
    finally:
        priced_lp.COLUMN_SUM_CHUNK = old
    assert np.array_equal(got, expected)


def test_a_band_counts_past_int8_without_wrapping() -> None:
    pair_priority = np.array([3] * 1000 + [1] * 10)
    points = np.arange(1010, dtype=np.int64) * 1000
    band_3, *_ = stages(pair_priority, points, pair_priority)
    assert band_3.coefficients.dtype == np.int8
    placed = np.ones(1010, dtype=np.int64)
    assert int(band_3.coefficients @ placed) == 1000
    nz = np.flatnonzero(band_3.coefficients)
    assert int(band_3.coefficients[nz] @ placed[nz]) == 1000
    assert int(band_3.coefficients.sum()) == 1000


@settings(max_examples=15, deadline=None)
@given(problem=problems(max_referrals=10, max_beds=12))
def test_each_pair_has_the_terms_of_the_full_grids(problem: Problem) -> None:
    inst = build_instance(problem)
    grids = score(inst.tables)
    for r in range(len(inst.tables.referrals)):
        for u in range(len(inst.tables.units)):
            assert inst.pair_terms(r, u) == grids.pair_terms(r, u)


def test_each_pair_of_a_varied_instance_has_the_terms_of_the_full_grids() -> None:
    inst = build_instance(generate(7, 80, 160, varied=True))
    grids = score(inst.tables)
    assert inst.pair_scores.on_pairs  # the full grids are kept on the pairs alone
    for p in range(0, inst.n_pairs, 7):
        r, u = int(inst.pair_ref[p]), int(inst.pair_unit[p])
        assert inst.pair_terms(r, u) == grids.pair_terms(r, u)


def test_the_total_points_are_the_same_numbers_in_fewer_bytes() -> None:
    inst = build_instance(generate(7, 80, 160, varied=True))
    total = score(inst.tables).total()
    assert inst.points.dtype == np.int32 and np.array_equal(inst.points, total)
    assert inst.pair_points.dtype == np.int64
    assert np.array_equal(inst.pair_points, total[inst.pair_ref, inst.pair_unit])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), chunk=st.integers(1, 50))
def test_row_activity_bounds_by_chunks_are_bincounts_to_the_last_bit(seed: int, chunk: int) -> None:
    rng = np.random.default_rng(seed)
    n_vars, n_rows, n_entries = 30, 12, 200
    lengths = rng.multinomial(n_entries, np.ones(n_rows) / n_rows)
    lower = rng.integers(-3, 2, n_vars)
    model = SparseModel(
        lower=lower,
        upper=lower + rng.integers(0, 4, n_vars),
        start=np.concatenate([[0], np.cumsum(lengths)]),
        col=narrow(rng.integers(0, n_vars, n_entries)),
        coef=narrow(rng.integers(-(10**6), 10**6, n_entries)),
        lo=np.zeros(n_rows, dtype=np.int64),
        hi=np.ones(n_rows, dtype=np.int64),
    )
    rows = model.row_of_entry()
    coef = model.coef.astype(np.float64)
    low = model.lower[model.col].astype(np.float64)
    high = model.upper[model.col].astype(np.float64)
    least = np.bincount(rows, weights=np.where(coef > 0, coef * low, coef * high), minlength=n_rows)
    most = np.bincount(rows, weights=np.where(coef > 0, coef * high, coef * low), minlength=n_rows)
    old, group_fit.ACTIVITY_CHUNK = group_fit.ACTIVITY_CHUNK, chunk
    try:
        got_least, got_most = group_fit.activity_bounds(model, rows)
    finally:
        group_fit.ACTIVITY_CHUNK = old
    assert np.array_equal(got_least, least) and np.array_equal(got_most, most)
