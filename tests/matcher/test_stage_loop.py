"""The lexicographic stage loop is written once (`matcher.backends.stage_loop`): every exact
backend walks the stages through it, so their stage logs have one shape and their bounds
agree; the loop's rules bite whatever the strategy."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fixtures.generator import generate
from matcher.backends import highs_worker
from matcher.backends.base import BANDS_PROVEN_S, BackendResult
from matcher.backends.classes import build_instance
from matcher.backends.cpsat import CpSatBackend
from matcher.backends.greedy import greedy_placements
from matcher.backends.piece_outcome import PieceOutcome
from matcher.backends.pulp_backend import PulpBackend
from matcher.backends.reduced_model import build_model, encode
from matcher.backends.settings import SolverSettings
from matcher.backends.stage_loop import new_run, run_stages, stage_result
from matcher.backends.stage_run import StageRun
from matcher.backends.stage_strategy import PROVING, StagePiece, StageStart, StageStrategy
from matcher.backends.submodel import UNBOUNDED, SparseModel
from matcher.model import CohortFloor, Problem
from matcher.objective import SOFT

# What the loop writes in a stage's log entry (a strategy may add more of its own).
LOOP_KEYS = {"stage", "value", "bound", "status", "variables"}


@pytest.fixture(scope="module")
def problem() -> Problem:
    # The greedy start misses the ceilings of bands 3 to 1: they are solved, not skipped.
    return generate(1, 60, 120)


def _log(result: BackendResult) -> list[dict[str, object]]:
    """The stage log without the times, and without which solver answered a race (CP-SAT's
    way through a stage races CBC on a piece CBC does not close at once; PuLP's does not)."""
    log = result.detail["stages"]
    assert isinstance(log, list)
    return [
        {k: v for k, v in entry.items() if k not in ("seconds", "raced_answer_by")} for entry in log
    ]


@pytest.mark.parametrize("floored", [False, True], ids=["plain", "with a floor"])
def test_cpsat_and_pulp_walk_the_same_stages_to_the_same_bounds(
    problem: Problem, floored: bool
) -> None:
    if floored:
        floor = CohortFloor(cohort="women", at_least="list_rate")
        policy = problem.policy.model_copy(update={"floors": [floor]})
        problem = problem.model_copy(update={"policy": policy})
    results = {}
    for backend in (
        # Without their LP-guided starts (and CP-SAT's search) both go from the same start
        # to the same exact solves: one loop gives both the same log.
        CpSatBackend(SolverSettings(num_workers=2, lp_guide=False, search_share=0.0)),
        PulpBackend(settings=SolverSettings(lp_guide=False)),
    ):
        inst = build_instance(problem)
        results[backend.name] = result = backend.solve(inst, 30.0, hint=greedy_placements(inst))
        assert not result.timed_out
        assert BANDS_PROVEN_S in result.detail
    cpsat, pulp = results["cpsat"], results["pulp"]
    assert cpsat.stage_bounds == pulp.stage_bounds
    if not floored:
        assert _log(cpsat) == _log(pulp)
    solved = [entry for entry in _log(pulp) if not entry.get("skipped")]
    assert len(solved) >= 3, "bands are solved, not only skipped"
    for result in (cpsat, pulp):
        for entry in _log(result):
            expected = {"stage", "value", "skipped"} if entry.get("skipped") else LOOP_KEYS
            assert expected <= set(entry), entry
    if floored:
        assert cpsat.detail["floors"] is pulp.detail["floors"] is True
        assert [e["stage"] for e in _log(cpsat)] == [e["stage"] for e in _log(pulp)]


@pytest.mark.skipif(not highs_worker.available(), reason="highspy is not installed")
def test_pulp_is_lp_guided_as_cpsat_is_and_proves_the_same_bounds(problem: Problem) -> None:
    results = {}
    for backend in (CpSatBackend(SolverSettings(num_workers=2)), PulpBackend()):
        inst = build_instance(problem)
        results[backend.name] = result = backend.solve(inst, 30.0, hint=greedy_placements(inst))
        assert not result.timed_out
    cpsat, pulp = results["cpsat"], results["pulp"]
    assert cpsat.stage_bounds == pulp.stage_bounds
    assert pulp.detail["solver"] == "highspy"
    guided = [entry for entry in _log(pulp) if "lp_guided_value" in entry]
    assert len(guided) >= 3, "PuLP's stages start from a piece its LP relaxation guides"


class _Scripted(StageStrategy):
    """A strategy answering each stage as scripted: ("open",) holds a band open, ("proving",)
    leaves it to a proof elsewhere, ("feasible", k) finds k less than the ceiling unproven,
    absent: the ceiling itself, proven."""

    def __init__(self, script: dict[str, tuple[object, ...]]) -> None:
        self.script = script
        self.solved: list[str] = []

    def start(
        self, run: StageRun, deadline: float, start: StageStart, entry: dict[str, object]
    ) -> StageStart:
        name = run.stages[run.index].name
        # Every start below its ceiling, so each stage reaches the strategy's solve.
        value = min(start.value, start.ceiling - 1) if name != SOFT else start.value
        return StageStart(value, start.ceiling, provable=self.script.get(name) != ("open",))

    def solve(self, piece: StagePiece, time_left: float) -> PieceOutcome:
        name = piece.stage.name
        self.solved.append(name)
        answer = self.script.get(name, ("optimal",))
        if answer == ("proving",):
            piece.run.proved_elsewhere.add(piece.run.index)
            return PieceOutcome(PROVING, None, piece.ceiling, 0.0)
        values = piece.start.copy()
        if answer[0] == "feasible":
            return PieceOutcome("FEASIBLE", values, piece.ceiling + 5, 0.1)
        return PieceOutcome("OPTIMAL", values, piece.value, 0.1)


def _run(problem: Problem, strategy: StageStrategy) -> tuple[StageRun, BackendResult]:
    inst = build_instance(problem)
    layout = build_model(inst)
    best = encode(inst, layout, greedy_placements(inst))
    run = new_run(inst, layout, SparseModel.of(layout.model), best, time.perf_counter())
    run_stages(run, strategy, time.perf_counter() + 30.0, 0.0)
    return run, stage_result(run, {})


def test_a_band_not_proven_ends_the_run_with_its_ceiling_as_bound(problem: Problem) -> None:
    run, result = _run(problem, _Scripted({"band_3": ("feasible",)}))
    names = [e["stage"] for e in run.stage_log]
    assert names == ["band_5", "band_4", "band_3"]
    band_3 = run.stage_log[-1]
    assert band_3["status"] == "FEASIBLE" and result.timed_out
    # The solver's bound above the ceiling: the proven ceiling is reported instead.
    assert result.stage_bounds["band_3"] == run.ceilings.of("band_3")
    assert BANDS_PROVEN_S not in result.detail


def test_a_band_held_open_or_proven_elsewhere_lets_the_later_stages_run(
    problem: Problem,
) -> None:
    strategy = _Scripted({"band_4": ("open",), "band_2": ("proving",)})
    run, result = _run(problem, strategy)
    names = [e["stage"] for e in run.stage_log]
    assert names == ["band_5", "band_4", "band_3", "band_2", "band_1", SOFT]
    assert "band_4" not in strategy.solved  # held open without a solve
    by_name = {e["stage"]: e for e in run.stage_log}
    assert by_name["band_4"]["status"] == "OPEN"
    assert by_name["band_2"]["status"] == PROVING
    assert run.open_stages == {1}
    # A band held open is not proven: the run is not done, whatever came after.
    assert result.timed_out and BANDS_PROVEN_S not in result.detail
    assert result.stage_bounds["band_4"] == by_name["band_4"]["bound"]


def test_a_run_with_every_stage_proven_notes_when_the_bands_were(problem: Problem) -> None:
    run, result = _run(problem, _Scripted({}))
    assert not result.timed_out
    assert [e["status"] for e in run.stage_log] == ["OPTIMAL"] * 6
    assert isinstance(result.detail[BANDS_PROVEN_S], float)
    soft = run.stage_log[-1]
    assert result.stage_bounds[SOFT] == soft["value"] == soft["bound"]


def test_a_stage_without_a_solution_in_time_stops_the_run(problem: Problem) -> None:
    class NoSolution(_Scripted):
        def solve(self, piece: StagePiece, time_left: float) -> PieceOutcome:
            return PieceOutcome("UNKNOWN", None, UNBOUNDED, 0.0)

    run, result = _run(problem, NoSolution({}))
    assert len(run.stage_log) == 1 and result.timed_out
    assert result.stage_bounds == {"band_5": run.ceilings.of("band_5")}
    assert np.array_equal(run.best, encode(run.inst, run.layout, greedy_placements(run.inst))), (
        "the start is kept"
    )
