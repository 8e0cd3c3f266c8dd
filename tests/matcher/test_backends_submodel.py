"""Sub-models: fixing variables keeps exactly the feasible points that agree with the fixed part,
and the neighbourhood search only ever returns whole allocations at least as good as its start."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ortools.sat.python import cp_model

from fixtures.generator import generate
from matcher.backends.classes import build_instance, lexicographic_value
from matcher.backends.cpsat import CpSatBackend
from matcher.backends.greedy import greedy_placements
from matcher.backends.reduced_model import build_model, decode, encode
from matcher.backends.settings import SolverSettings
from matcher.backends.submodel import UNBOUNDED, SparseModel, restrict


def _solve_sub(model: SparseModel, objective: np.ndarray) -> np.ndarray:
    cp = cp_model.CpModel()
    xs = [
        cp.new_int_var(int(lo), int(hi), "")
        for lo, hi in zip(model.lower, model.upper, strict=True)
    ]
    for i in range(model.n_rows):
        s, e = model.start[i], model.start[i + 1]
        expr = sum(
            int(c) * xs[int(j)] for j, c in zip(model.col[s:e], model.coef[s:e], strict=True)
        )
        if model.lo[i] > -UNBOUNDED:
            cp.add(expr >= int(model.lo[i]))
        if model.hi[i] < UNBOUNDED:
            cp.add(expr <= int(model.hi[i]))
    cp.maximize(sum(int(c) * x for c, x in zip(objective, xs, strict=True) if c))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 20
    solver.parameters.num_workers = 2
    assert solver.solve(cp) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return np.array([solver.value(x) for x in xs], dtype=np.int64)


@pytest.mark.parametrize("seed", [3, 4])
def test_a_restricted_solution_is_feasible_in_the_full_model(seed: int) -> None:
    inst = build_instance(generate(seed, 60, 120))
    layout = build_model(inst)
    full = SparseModel.of(layout.model)
    start = encode(inst, layout, greedy_placements(inst))
    assert full.violated_rows(start).size == 0
    rng = np.random.default_rng(seed)
    free = np.ones(full.n_vars, dtype=bool)
    free[: layout.n_pairs] = rng.random(layout.n_pairs) < 0.4
    sub = restrict(full, free, start)
    # The start itself is a point of the sub-model ...
    assert sub.model.violated_rows(start[sub.free]).size == 0
    # ... and the sub-model's best point, put back, breaks no row of the full model.
    objective = np.zeros(len(sub.free), dtype=np.int64)
    pairs = sub.free < layout.n_pairs
    objective[pairs] = 1
    values = sub.expand(_solve_sub(sub.model, objective))
    assert full.violated_rows(values).size == 0
    assert np.array_equal(values[~free], start[~free])
    assert values[: layout.n_pairs].sum() >= start[: layout.n_pairs].sum()
    assert decode(inst, layout, values)  # decodes to concrete placements


def test_neighbourhood_search_never_returns_less_than_its_start() -> None:
    inst = build_instance(generate(5, 300, 600))
    start = greedy_placements(inst)
    # The LP guide would often close the band first: this is about the search alone.
    backend = CpSatBackend(
        SolverSettings(num_workers=2, search_share=1.0, max_stage_variables=0, lp_guide=False)
    )
    result = backend.solve(inst, 4.0, hint=start)
    assert lexicographic_value(inst, result.placements)[:5] >= lexicographic_value(inst, start)[:5]
    searched = [s for s in result.detail["stages"] if "search_rounds" in s]  # type: ignore[union-attr]
    assert searched, "some band stage started below its ceiling and was searched"


def _restricted_row_by_row(full: SparseModel, free: np.ndarray, fixed: np.ndarray) -> list:
    """The definition, one row at a time: a row with a free variable keeps its free entries,
    in order, and its bounds less what the fixed variables contribute."""
    index = {int(j): k for k, j in enumerate(np.flatnonzero(free))}
    rows = []
    for i in range(full.n_rows):
        s, e = int(full.start[i]), int(full.start[i + 1])
        entries = [(int(full.col[t]), int(full.coef[t])) for t in range(s, e)]
        kept = [(index[j], c) for j, c in entries if free[j]]
        if not kept:
            continue
        constant = sum(c * int(fixed[j]) for j, c in entries if not free[j])
        lo = -UNBOUNDED if full.lo[i] <= -UNBOUNDED else int(full.lo[i]) - constant
        hi = UNBOUNDED if full.hi[i] >= UNBOUNDED else int(full.hi[i]) - constant
        rows.append((kept, lo, hi))
    return rows


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_restrict_keeps_exactly_the_rows_and_bounds_the_definition_gives(
    data: st.DataObject,
) -> None:
    n_vars = data.draw(st.integers(1, 12))
    n_rows = data.draw(st.integers(0, 10))
    lengths = data.draw(st.lists(st.integers(0, 5), min_size=n_rows, max_size=n_rows))
    total = sum(lengths)
    col = data.draw(st.lists(st.integers(0, n_vars - 1), min_size=total, max_size=total))
    coef = data.draw(st.lists(st.integers(-9, 9), min_size=total, max_size=total))
    bound = st.one_of(st.integers(-50, 50), st.just(UNBOUNDED))
    lo = [-b for b in data.draw(st.lists(bound, min_size=n_rows, max_size=n_rows))]
    hi = data.draw(st.lists(bound, min_size=n_rows, max_size=n_rows))
    start = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(lengths, out=start[1:])
    full = SparseModel(
        lower=np.zeros(n_vars, dtype=np.int64),
        upper=np.full(n_vars, 3, dtype=np.int64),
        start=start,
        col=np.array(col, dtype=np.int64),
        coef=np.array(coef, dtype=np.int64),
        lo=np.array(lo, dtype=np.int64),
        hi=np.array(hi, dtype=np.int64),
    )
    free = np.array(data.draw(st.lists(st.booleans(), min_size=n_vars, max_size=n_vars)))
    fixed = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n_vars, max_size=n_vars)))

    sub = restrict(full, free, fixed).model
    got = [
        (
            list(
                zip(
                    sub.col[sub.start[i] : sub.start[i + 1]].tolist(),
                    sub.coef[sub.start[i] : sub.start[i + 1]].tolist(),
                    strict=True,
                )
            ),
            int(sub.lo[i]),
            int(sub.hi[i]),
        )
        for i in range(sub.n_rows)
    ]
    assert got == _restricted_row_by_row(full, free, fixed)
    assert sub.n_vars == int(free.sum())
