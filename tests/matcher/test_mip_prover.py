"""CBC as the band-stage prover: the same optimum as CP-SAT, and an honest bound when stopped."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from fixtures.generator import generate
from matcher.backends import highs_worker, mip_prover
from matcher.model import Problem
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value, three_people_seven_hours
from tests.matcher.tiny import small_problems

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


def test_a_knapsack_optimum_is_proven_and_rows_hold() -> None:
    sparse = three_people_seven_hours()
    out = mip_prover.maximise(sparse, np.array([1, 1, 1]), 5.0)
    assert out.optimal
    assert out.values is not None and int(out.values.sum()) == 2
    assert out.bound == 2
    assert sparse.violated_rows(out.values).size == 0


@settings(max_examples=10, deadline=None)
@given(problem=small_problems())
def test_cbc_and_cpsat_band_provers_reach_the_same_optimum(problem: Problem) -> None:
    by_cbc = solve(problem, "cpsat", 20, num_workers=2, band_prover="cbc")
    by_cpsat = solve(problem, "cpsat", 20, num_workers=2, band_prover="cpsat")
    assert by_cbc.status == by_cpsat.status == "optimal"
    assert lexicographic_value(problem, by_cbc) == lexicographic_value(problem, by_cpsat)


@pytest.mark.skipif(not highs_worker.available(), reason="highspy is not installed")
@settings(max_examples=5, deadline=None)
@given(problem=small_problems())
def test_cbc_and_highs_band_mip_solvers_reach_the_same_optimum(problem: Problem) -> None:
    # Without the LP guide every band short of its ceiling goes to the prover.
    by_cbc = solve(problem, "cpsat", 20, num_workers=2, lp_guide=False)
    by_highs = solve(problem, "cpsat", 20, num_workers=2, lp_guide=False, band_mip_solver="highs")
    assert by_cbc.status == by_highs.status == "optimal"
    assert lexicographic_value(problem, by_cbc) == lexicographic_value(problem, by_highs)


def test_a_band_stopped_by_the_clock_reports_a_bound_no_allocation_beats() -> None:
    problem = generate(3, 400, 800)
    reference = solve(problem, "pulp", 60.0)
    assert reference.status == "optimal"
    # Where the clock stops a band depends on the machine: several limits, so that some
    # band is stopped on a fast machine too (this one proves every band in about 0.5 s).
    stopped_any = False
    for limit in (0.6, 1.0, 1.5, 2.5):
        stopped = solve(problem, "cpsat", limit, num_workers=2)
        bounds = stopped.placed_bound_by_priority  # type: ignore[attr-defined]
        placed = stopped.placed_by_priority
        open_bands = [b for b in ("5", "4", "3", "2", "1") if bounds[b] > placed[b]]
        if not open_bands:
            continue
        stopped_any = True
        for band in ("5", "4", "3", "2", "1"):
            if band == open_bands[0]:
                # With the bands above at their optimum, nothing places more than the bound.
                assert reference.placed_by_priority[band] <= bounds[band], limit
                break
            assert placed[band] == reference.placed_by_priority[band], limit
    assert stopped_any, "the clock stopped some band stage"


def test_an_unknown_band_prover_is_refused() -> None:
    with pytest.raises(ValueError, match="band_prover"):
        solve(generate(1, 5, 5), "cpsat", 1.0, band_prover="gurobi")
