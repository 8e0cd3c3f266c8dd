"""A piece CBC does not close at once is raced against CP-SAT (a soft piece, and a band stage
proved in process): the better answer is kept, and each solver stops the other when it can."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from fixtures.generator import generate
from matcher.backends import cbc_command, mip_prover, piece_race
from matcher.backends.classes import build_instance
from matcher.backends.cpsat import CpSatBackend
from matcher.backends.greedy import greedy_placements
from matcher.backends.linear import LinearModel
from matcher.backends.piece_outcome import PieceOutcome
from matcher.backends.piece_solvers import cbc_maximise, cpsat_maximise
from matcher.backends.reduced_model import build_model, encode
from matcher.backends.settings import SolverSettings
from matcher.backends.stage_terms import stage_objective
from matcher.backends.submodel import UNBOUNDED, SparseModel, SubModel, restrict
from matcher.objective import stages
from matcher.solve import solve

pytestmark = pytest.mark.skipif(
    cbc_command.program() is None or not mip_prover.available(), reason="no CBC program here"
)


def soft_piece() -> tuple[SubModel, np.ndarray, np.ndarray]:
    """A small instance's whole soft stage as a piece, its objective and the greedy start."""
    inst = build_instance(generate(1, 60, 120))
    layout = build_model(inst)
    full = SparseModel.of(layout.model)
    soft = stages(
        inst.tables.referrals.priority[inst.pair_ref], inst.pair_points, inst.pair_group_priority()
    )[-1]
    piece = restrict(full, np.ones(full.n_vars, dtype=bool), np.zeros(full.n_vars, np.int64))
    start = encode(inst, layout, greedy_placements(inst))[piece.free]
    return piece, soft.coefficients, start


def value_of(piece: SubModel, coefs: np.ndarray, values: np.ndarray) -> int:
    return int(stage_objective(coefs, piece.free) @ values)


def test_cpsat_wins_where_cbc_gives_back_its_start_and_stops_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piece, coefs, start = soft_piece()
    stopped = threading.Event()

    def stuck_cbc(*args: Any, start: np.ndarray, stop: threading.Event, **kwargs: Any) -> Any:
        # A CBC stuck at its root (tight caseloads' soft piece): the start, at the limit.
        if stop.wait(args[3]):
            stopped.set()
        return PieceOutcome("FEASIBLE", start.copy(), UNBOUNDED, 0.0)

    monkeypatch.setattr(piece_race, "cbc_maximise", stuck_cbc)
    settings = SolverSettings(num_workers=2, race_after_seconds=0.1)
    began = time.perf_counter()
    out, by = piece_race.race_piece(settings, piece, coefs, start, 60.0, 2)
    assert by == "cpsat" and out.values is not None
    assert piece.model.feasible(out.values)
    assert value_of(piece, coefs, out.values) > value_of(piece, coefs, start)
    # CP-SAT proved its answer, and that ended CBC long before its limit.
    assert out.optimal and stopped.is_set()
    assert time.perf_counter() - began < 50.0


def test_a_piece_cbc_closes_at_once_is_never_given_to_cpsat(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piece, coefs, start = soft_piece()

    def no_cpsat(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("CP-SAT was started beside a CBC that ended in time")

    monkeypatch.setattr(piece_race, "cpsat_maximise", no_cpsat)
    settings = SolverSettings(num_workers=2, race_after_seconds=30.0)
    out, by = piece_race.race_piece(settings, piece, coefs, start, 60.0, 2)
    assert by == "cbc" and out.optimal and out.values is not None
    assert piece.model.feasible(out.values)
    assert value_of(piece, coefs, out.values) >= value_of(piece, coefs, start)


def test_the_better_answer_and_the_lower_bound_are_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piece, coefs, start = soft_piece()
    exact = cbc_maximise(piece.model, coefs, piece.free, 60.0, start=start)
    assert exact.optimal and exact.values is not None
    optimum = value_of(piece, coefs, exact.values)

    def late_cbc(*args: Any, stop: threading.Event, **kwargs: Any) -> Any:
        time.sleep(1.0)  # past the race's start, then the proven optimum
        return exact

    monkeypatch.setattr(piece_race, "cbc_maximise", late_cbc)
    settings = SolverSettings(num_workers=2, race_after_seconds=0.1)
    began = time.perf_counter()
    out, by = piece_race.race_piece(settings, piece, coefs, start, 120.0, 2)
    assert time.perf_counter() - began < 30.0
    assert out.optimal and out.values is not None
    assert value_of(piece, coefs, out.values) == optimum
    assert out.bound == optimum
    assert by in ("cbc", "cpsat")


def test_setting_stop_ends_a_cpsat_search_that_would_run_on() -> None:
    # Market split: equal-sum rows over binaries, which hold CP-SAT for far longer than the
    # test waits (no solution and no proof in 8 s).
    rng = np.random.default_rng(0)
    model = LinearModel()
    model.add_vars(40, 0, 1)
    for row in rng.integers(0, 100, size=(4, 40)):
        half = int(row.sum() // 2)
        model.add_row(list(range(40)), row.tolist(), half, half)
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    began = time.perf_counter()
    out = cpsat_maximise(
        SolverSettings(num_workers=2),
        SparseModel.of(model),
        rng.integers(1, 100, size=40),
        np.arange(40),
        np.zeros(40, dtype=np.int64),
        120.0,
        None,
        0.0,
        workers=2,
        stop=stop,
    )
    assert time.perf_counter() - began < 20.0
    assert not out.optimal


@pytest.mark.parametrize("most", [0, 10_000])
def test_only_soft_pieces_up_to_the_size_limit_are_raced(most: int) -> None:
    inst = build_instance(generate(1, 300, 600))
    backend = CpSatBackend(SolverSettings(num_workers=2, max_race_variables=most))
    result = backend.solve(inst, 30.0, hint=greedy_placements(inst))
    log = result.detail["stages"]
    assert isinstance(log, list)
    soft = log[-1]
    assert soft["stage"] == "soft" and "lp_guided_variables" in soft
    assert ("lp_guided_by" in soft) == (soft["lp_guided_variables"] <= most)


def test_a_small_band_cbc_cannot_prove_is_proven_by_cp_sat_racing_it() -> None:
    # Band 1 of this varied 60 x 120 shape (258 variables): CBC alone ends a minute with 15
    # against a bound of 16; CP-SAT proves 15 optimal in about two seconds.
    problem = generate(272, 60, 120, varied=True)
    solution = solve(problem, "cpsat", 20, num_workers=2)
    extra = solution.model_extra or {}
    assert extra["placed_bound_by_priority"] == solution.placed_by_priority
    band_1 = next(s for s in extra["detail"]["stages"] if s["stage"] == "band_1")
    assert band_1["raced_answer_by"] in ("cbc", "cpsat")  # the race ran, whoever answered
