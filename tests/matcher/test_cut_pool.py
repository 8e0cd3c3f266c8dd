"""The run's pool of unit cuts: kept over the full model, written over a sub-model with its
fixed members moved into the bound, never cutting off an allocation the checker accepts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints.checker import check
from fixtures.generator import generate
from matcher.backends import mip_prover
from matcher.backends.classes import Instance, build_instance
from matcher.backends.cut_pool import CutPool
from matcher.backends.linear import Row
from matcher.backends.reduced_model import build_model
from matcher.backends.submodel import restrict
from matcher.backends.unit_cuts import UnitRooms
from matcher.model import Problem, Solution
from matcher.solve import solve
from tests.matcher.helpers import band_stages, three_units_of_seven_hours
from tests.matcher.tiny import small_problems


def ones(idx: list[int], hi: int) -> Row:
    return Row(np.array(idx), np.ones(len(idx), dtype=np.int64), None, hi)


def test_a_cut_is_kept_over_the_full_model_once() -> None:
    pool = CutPool()
    columns = np.array([4, 7, 9, 12])  # a sub-model's variable i is the full model's columns[i]
    assert pool.add([ones([3, 1], 1), ones([1, 3], 1)], columns) == 1
    assert pool.add([ones([1, 3], 1)], columns) == 0
    assert pool.add([ones([1, 3], 0)], columns) == 1  # another bound: another cut
    assert pool.rows[0].idx.tolist() == [7, 12]


def test_a_sub_model_gets_its_free_members_and_the_fixed_ones_in_the_bound() -> None:
    full, _ = three_units_of_seven_hours()
    pool = CutPool()
    pool.add([ones([0, 1, 2], 2), ones([3, 4], 1), ones([9, 10, 11], 2)], np.arange(full.n_vars))
    free = np.ones(full.n_vars, dtype=bool)
    free[[0, 4]] = False
    fixed = np.zeros(full.n_vars, dtype=np.int64)
    fixed[0] = 1  # variable 0 fixed at one, 4 at zero
    sub = restrict(full, free, fixed)
    rows = pool.on(sub)
    # [1, 2] <= 1 (one of the two places taken); [3] <= 1 is no cut for a 0-1 variable.
    assert [(sub.free[r.idx].tolist(), r.hi) for r in rows] == [([1, 2], 1), ([9, 10, 11], 2)]
    strengthened, added = pool.strengthen(sub)
    assert added == 2 and strengthened.model.n_rows == sub.model.n_rows + 2
    assert strengthened.free is sub.free and strengthened.fixed is sub.fixed


def placed_pairs(problem: Problem, inst: Instance, solution: Solution, n_vars: int) -> np.ndarray:
    """The model's pair variables that `solution` sets, read from its ids alone."""
    tables = inst.tables
    unit_of = {b.id: b.unit for b in problem.bedspaces}
    values = np.zeros(n_vars, dtype=np.int64)
    for a in solution.assignments:
        r = tables.referrals.index[a.referral]
        u = tables.units.index[unit_of[a.bedspace]]
        pair = inst.pair_index.get((r, u))
        assert pair is not None  # the checker accepted it: the pair is eligible
        values[pair] = 1
    return values


@pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")
@settings(max_examples=25, deadline=None)
@given(
    problem=small_problems(),
    seed=st.integers(0, 2**16),
)
def test_checker_valid_solutions_keep_every_cut_as_any_band_proof_sees_it(
    problem: Problem, seed: int
) -> None:
    inst = build_instance(problem)
    n_vars = build_model(inst).model.n_vars
    rooms = UnitRooms.of(inst, np.arange(n_vars))
    rng = np.random.default_rng(seed)
    pool = CutPool()
    for _ in range(4):
        pool.add(rooms.separate(rng.uniform(0, 1, n_vars)), np.arange(n_vars))
    for at in band_stages(problem):
        # The cuts of each band's LP points too, kept as the solver keeps them.
        point = rng.uniform(0, 1, at.sub.model.n_vars)
        pool.add(UnitRooms.of(at.inst, at.sub.free).separate(point), at.sub.free)
    for backend in ("cpsat", "greedy"):
        solution = solve(problem, backend, 5, explain=False)
        assert check(problem, solution) == []
        values = placed_pairs(problem, inst, solution, n_vars)
        for row in pool.rows:
            assert values[row.idx] @ row.coef <= row.hi
    for at in band_stages(problem):
        # A band stage's optimum keeps every cut written over its sub-model.
        proved, _ = pool.strengthen(at.sub)
        assert proved.model.feasible(at.values)


@pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")
@pytest.mark.parametrize("in_a_worker", [False, True])
def test_band_proofs_given_the_runs_cuts_close_every_band(in_a_worker: bool) -> None:
    # Shape 28 at 150 x 300: band 2's stage (1,182 variables) is 8 against an LP bound of
    # 9.8; CBC without the cuts and the incumbent found no solution in 10 s, and the run
    # stopped there with band 1 at 4 of 44.
    problem = generate(28, 150, 300, varied=True)
    options = {"background_min_variables": 0} if in_a_worker else {}
    solution = solve(problem, "cpsat", 20, num_workers=2, **options)
    assert check(problem, solution) == []
    extra = solution.model_extra or {}
    assert extra["placed_bound_by_priority"] == solution.placed_by_priority
    logged = [e for e in extra["detail"]["stages"] if not e.get("superseded")]
    band_2 = next(e for e in logged if e["stage"] == "band_2")
    assert band_2["proof_cuts"] > 0 and band_2["status"] == "OPTIMAL"
