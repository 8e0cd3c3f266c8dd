"""The unit-by-unit bound: never below a stage's integer optimum, whatever the prices, and
below the LP's where a unit's own rows cut a fraction off."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.backends import mip_prover
from matcher.backends.block_bound import block_bound, unit_of_variable
from matcher.backends.submodel import SparseModel
from matcher.model import Problem
from tests.matcher.helpers import band_stages, three_units_of_seven_hours
from tests.matcher.tiny import small_problems

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


def lp_prices(model: SparseModel, objective: np.ndarray) -> tuple[float, np.ndarray]:
    lp = mip_prover.relax(model, objective, 10.0)
    assert lp.value is not None and lp.prices is not None
    return lp.value, lp.prices


def test_a_unit_solved_whole_takes_the_fraction_the_lp_gives_each_unit() -> None:
    model, unit = three_units_of_seven_hours()
    objective = np.ones(27)
    value, prices = lp_prices(model, objective)
    assert value == pytest.approx(7.0)
    out = block_bound(model, model.lower, model.upper, objective, prices, unit, 10.0)
    assert out is not None
    assert out.integer_bound == 6  # the integer optimum: proven without branching
    assert out.units_solved == 3 and out.units_tightened == 3


def test_it_stops_once_the_bound_meets_the_best_count_found() -> None:
    model, unit = three_units_of_seven_hours()
    objective = np.ones(27)
    _, prices = lp_prices(model, objective)
    out = block_bound(model, model.lower, model.upper, objective, prices, unit, 10.0, enough=6)
    # One unit solved takes the bound from 7 to 6.67: nothing better than 6 exists, and 6 is
    # what was found, so the other two are not solved.
    assert out is not None and out.integer_bound == 6
    assert out.units_solved == 1
    out = block_bound(model, model.lower, model.upper, objective, prices, unit, 10.0, enough=7)
    assert out is not None and out.units_solved == 0 and out.integer_bound == 7


def test_variables_no_unit_owns_are_priced_with_the_rows_that_link() -> None:
    model, unit = three_units_of_seven_hours()
    objective = np.ones(27)
    _, prices = lp_prices(model, objective)
    unowned = unit.copy()
    unowned[:3] = -1  # the first person's three places belong to no unit: every row links
    out = block_bound(model, model.lower, model.upper, objective, prices, unowned, 10.0)
    assert out is not None
    assert 6 <= out.integer_bound <= 7


def stage_cases(problem: Problem) -> list[tuple[SparseModel, np.ndarray, np.ndarray, int]]:
    """Each band stage as a sub-model (the bands above held at their optimum), its objective,
    each variable's unit and the stage's integer optimum."""
    out = []
    for at in band_stages(problem):
        unit = unit_of_variable(at.inst, at.layout)
        objective = at.objective[at.sub.free].astype(float)
        out.append((at.sub.model, objective, unit[at.sub.free], at.optimum))
    return out


# Nothing may solve or prove a stage whole: a band is closed by a bound or not at all.
ONLY_BOUNDS: dict[str, Any] = dict(
    num_workers=2,
    max_stage_variables=0,
    max_prover_variables=0,
    max_background_prover_variables=0,
)


@settings(max_examples=25, deadline=None)
@given(
    problem=small_problems(),
    noise=st.floats(0.0, 2.0),
    seed=st.integers(0, 2**16),
)
def test_the_bound_is_never_below_a_stage_optimum_whatever_the_prices(
    problem: Problem, noise: float, seed: int
) -> None:
    for model, objective, unit, optimum in stage_cases(problem):
        lp = mip_prover.relax(model, objective, 10.0)
        assert lp.value is not None and lp.prices is not None
        for prices, point in (
            (lp.prices, lp.values),  # the LP's own: the bound starts at the LP's
            (lp.prices + np.random.default_rng(seed).normal(0, noise, model.n_rows), None),
        ):
            out = block_bound(
                model, model.lower, model.upper, objective, prices, unit, 10.0, point=point
            )
            assert out is not None
            assert out.integer_bound >= optimum
        out = block_bound(
            model, model.lower, model.upper, objective, lp.prices, unit, 10.0, point=lp.values
        )
        assert out is not None and out.bound <= lp.value + 1e-6


def test_on_a_generated_instance_a_support_hours_unit_takes_the_lp_fraction_off() -> None:
    from fixtures import generate

    cut = []
    for model, objective, unit, optimum in stage_cases(generate(10, 150, 300)):
        lp = mip_prover.relax(model, objective, 10.0)
        assert lp.value is not None and lp.prices is not None
        out = block_bound(
            model, model.lower, model.upper, objective, lp.prices, unit, 10.0, point=lp.values
        )
        assert out is not None
        assert optimum <= out.integer_bound <= int(np.floor(lp.value + 1e-6))
        cut.append(lp.value - out.bound)
    # Band 1: LP 23.8, and 23 once one unit is solved whole (the optimum).
    assert max(cut) >= 0.5


def test_a_band_the_lp_leaves_open_is_proven_once_its_units_are_solved_whole() -> None:
    from fixtures import generate
    from matcher.solve import solve

    problem = generate(7, 400, 800)
    with_units = solve(problem, "cpsat", 20, **ONLY_BOUNDS)
    lp_only = solve(problem, "cpsat", 20, unit_bounds=False, **ONLY_BOUNDS)
    assert with_units.placed_by_priority == lp_only.placed_by_priority
    assert lp_only.placed_by_priority["1"] == 76
    assert lp_only.placed_bound_by_priority["1"] == 77  # the LP's 77.x: band 1 open
    assert with_units.placed_bound_by_priority == with_units.placed_by_priority
    band_1 = with_units.detail["stages"][-2]
    assert band_1["stage"] == "band_1" and band_1["unit_bound"]["units_tightened"] >= 1


def test_without_an_integer_solver_there_is_no_unit_bound_and_the_lp_bound_stands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fixtures import generate
    from matcher.backends import block_bound as module
    from matcher.solve import solve

    monkeypatch.setattr(module, "_integer_solver", lambda: None)
    model, unit = three_units_of_seven_hours()
    _, prices = lp_prices(model, np.ones(27))
    assert block_bound(model, model.lower, model.upper, np.ones(27), prices, unit, 10.0) is None
    # (The cuts of `unit_cuts` would prove 76 here: `test_unit_cuts` shows them.)
    solution = solve(generate(7, 400, 800), "cpsat", 20, unit_cuts=False, **ONLY_BOUNDS)
    assert solution.placed_bound_by_priority["1"] == 77  # the LP's, as without unit bounds
