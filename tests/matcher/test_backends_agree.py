"""CP-SAT and PuLP solve the same model: their proven optima agree, band by band and in points."""

from __future__ import annotations

import functools

import pulp as pulp_module
import pytest
from hypothesis import given, settings

from benchmarks.families import SMALL, SMALL_STRESS, TINY
from constraints.checker import check
from fixtures.generator import generate
from matcher.backends import highs_worker
from matcher.backends.pulp_backend import CBC, HIGHSPY
from matcher.model import Problem, Solution
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value
from tests.matcher.tiny import small_problems


@pytest.mark.parametrize("solver", ["HiGHS", CBC])
@settings(max_examples=20, deadline=None)
@given(problem=small_problems())
def test_cpsat_and_pulp_reach_the_same_optimum(solver: str, problem: Problem) -> None:
    cpsat = solve(problem, "cpsat", 20, num_workers=2)
    pulp = solve(problem, "pulp", 20, solver=solver)
    assert _mip_solver(pulp) in (solver, None)
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


# The benchmark instances PuLP must match CP-SAT on, band by band. On the stress variants the
# greedy start misses some bands' ceilings, so the MIP solves band stages there (on couples
# bands 4 to 1), not only the soft one.
AGREEMENT_INSTANCES = {spec.name: spec for spec in TINY + SMALL + SMALL_STRESS}


def _mip_solver(solution: Solution) -> str | None:
    """The solver PuLP ran, or None where no integer program was needed (an allocation
    without rules that couple people is one min-cost flow, the same for every backend)."""
    return solution.detail.get("solver")  # type: ignore[attr-defined]


@functools.cache
def _cpsat_solution(name: str) -> Solution:
    return solve(AGREEMENT_INSTANCES[name].build(), "cpsat", 60, num_workers=8)


@pytest.mark.parametrize("solver", [HIGHSPY, CBC])
@pytest.mark.parametrize("name", list(AGREEMENT_INSTANCES))
def test_pulp_places_as_many_per_band_as_cpsat_on_the_benchmark_instances(
    name: str, solver: str
) -> None:
    """HiGHS in its worker (PuLP's first choice) and CBC (its fallback) each reach CP-SAT's
    proven optimum on every tiny and small benchmark instance: the same count in every band,
    the same points."""
    if solver == HIGHSPY and not highs_worker.available():
        pytest.skip("highspy is not installed")
    problem = AGREEMENT_INSTANCES[name].build()
    cpsat = _cpsat_solution(name)
    pulp = solve(problem, "pulp", 60, solver=solver)
    assert _mip_solver(pulp) in (solver, None)
    if name.startswith("small-"):  # rules that couple people bind there: the MIP runs
        assert _mip_solver(pulp) == solver
    assert cpsat.status == pulp.status == "optimal"
    assert pulp.placed_by_priority == cpsat.placed_by_priority
    assert pulp.objective == cpsat.objective
    assert check(problem, pulp) == []


def test_without_highs_pulp_falls_back_to_cbc_and_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where highspy does not load (in its worker or here) and HiGHS's program does not run,
    the PuLP backend solves with CBC, to the same optimum."""
    monkeypatch.setattr(highs_worker, "available", lambda: False)
    monkeypatch.setattr(pulp_module.HiGHS, "available", lambda self: False)
    monkeypatch.setattr(pulp_module.HiGHS_CMD, "available", lambda self: False)
    name = "small-couples"
    problem = AGREEMENT_INSTANCES[name].build()
    fallback = solve(problem, "pulp", 60)
    assert fallback.detail["solver"] == CBC
    solved = [entry["stage"] for entry in fallback.detail["stages"] if not entry.get("skipped")]
    assert "band_4" in solved  # CBC itself settled a band, not only the greedy start
    assert fallback.status == "optimal"
    assert fallback.placed_by_priority == _cpsat_solution(name).placed_by_priority
    assert fallback.objective == _cpsat_solution(name).objective
