"""The soft stage's LP in a worker process, started beside a band held open."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from constraints.checker import check
from fixtures.generator import generate
from matcher.backends import background_work, mip_prover
from matcher.backends.classes import build_instance
from matcher.backends.cpsat import CpSatBackend
from matcher.backends.greedy import greedy_placements
from matcher.backends.linear import Row
from matcher.backends.lp_worker import BackgroundLp
from matcher.backends.priced_lp import priced_lp, starting_columns
from matcher.backends.reduced_model import build_model, encode
from matcher.backends.settings import SolverSettings
from matcher.backends.submodel import SparseModel
from matcher.backends.work_aside import SoftLpAhead
from matcher.objective import stages
from matcher.solve import solve
from tests.matcher.test_priced_lp import knapsack

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


# Nothing may solve or prove a band, and the soft stage is too big for a whole LP: the last
# band is held open, and the soft LP starts beside it.
HELD_OPEN: dict[str, Any] = {
    "num_workers": 2,
    "max_stage_variables": 0,
    "max_prover_variables": 0,
    "max_background_prover_variables": 0,
    "max_soft_lp_variables": 0,
    "seed": 1,
}


@dataclass(frozen=True)
class SoftLp:
    """The soft stage's priced LP on `generate(1501, 300, 600)`, band 5 held at greedy's count:
    what both the worker and the LP in process are given."""

    full: SparseModel
    nz: np.ndarray
    weights: np.ndarray
    at_least: int
    free: np.ndarray
    objective: np.ndarray
    start: np.ndarray

    @classmethod
    def medium_small(cls) -> SoftLp:
        inst = build_instance(generate(1501, 300, 600))
        layout = build_model(inst)
        full = SparseModel.of(layout.model)
        incumbent = encode(inst, layout, greedy_placements(inst))
        band_5, *_, soft = stages(
            inst.tables.referrals.priority[inst.pair_ref],
            inst.pair_points,
            inst.pair_group_priority(),
        )
        nz = np.flatnonzero(band_5.coefficients)
        objective = np.zeros(full.n_vars, dtype=np.int64)
        objective[: layout.n_pairs] = soft.coefficients
        start = starting_columns(
            inst.pair_ref, inst.pair_points, soft.active, incumbent, full.n_vars, per_referral=1
        )
        weights = band_5.coefficients[nz]
        free = np.ones(full.n_vars, dtype=bool)
        return cls(full, nz, weights, int(incumbent[nz].sum()), free, objective, start)

    def held(self) -> SparseModel:
        return self.full.with_rows([Row(self.nz, self.weights, self.at_least, None)])


def test_the_worker_answers_as_the_priced_lp_in_process_does() -> None:
    lp = SoftLp.medium_small()
    full, nz, weights, at_least = lp.full, lp.nz, lp.weights, lp.at_least
    free, objective, start = lp.free, lp.objective, lp.start
    here = priced_lp(lp.held(), free, objective, start, 30.0, dual_simplex=True)
    aside = BackgroundLp(
        full, nz, weights, at_least, free, objective, start, 30.0, dual_simplex=True, niceness=5
    )
    out = aside.outcome(wait_until=float("inf"))
    assert out is not None and out.bound is not None and here.bound is not None
    assert out.bound == pytest.approx(here.bound, rel=1e-9)
    assert out.rounds >= 2 and out.columns > int(start.sum())  # it priced columns in
    assert out.support is not None and out.support.shape == (full.n_vars,)
    assert out.reduced is not None and out.reduced.shape == (full.n_vars,)
    # The held row binds: holding band 5 at more than it can place leaves no LP at all.
    impossible = BackgroundLp(full, nz, weights, len(nz) + 1, free, objective, start, 30.0)
    none = impossible.outcome(float("inf"))
    assert none is not None and none.support is None


def test_a_cancelled_lp_leaves_no_process_and_no_answer() -> None:
    model = knapsack()
    everyone = np.ones(3, dtype=bool)
    lp = BackgroundLp(model, np.array([0]), np.array([1]), 0, everyone, np.ones(3), everyone, 5)
    lp.cancel()
    assert lp.finished()
    assert lp.outcome() is None


def test_the_lp_started_ahead_counts_only_while_the_run_holds_at_least_what_it_assumed() -> None:
    ahead = SoftLpAhead(lp=None, held={"band_2": 10, "band_1": 7})  # type: ignore[arg-type]
    assert ahead.still_relaxes({"band_2": 10, "band_1": 7})
    assert ahead.still_relaxes({"band_3": 4, "band_2": 11, "band_1": 9})
    # A proof that found more for band 2 sent the run back, and band 1 now holds fewer.
    assert not ahead.still_relaxes({"band_2": 11, "band_1": 6})
    assert not ahead.still_relaxes({"band_2": 10})


def test_a_run_with_its_last_band_held_open_takes_the_soft_lp_from_the_worker() -> None:
    problem = generate(3, 300, 600)
    inst = build_instance(problem)
    backend = CpSatBackend(SolverSettings(**HELD_OPEN))
    started = time.perf_counter()
    result = backend.solve(inst, 30.0, hint=greedy_placements(inst))
    assert time.perf_counter() - started < 35.0
    log = result.detail["stages"]
    assert isinstance(log, list)
    band_1, soft = log[-2], log[-1]
    assert band_1["stage"] == "band_1" and soft["stage"] == "soft"
    assert soft.get("lp_ahead") is True
    # The bound of the LP with band 1 held at less than it ends with still bounds the stage.
    assert isinstance(soft["bound"], int) and soft["bound"] >= soft["value"]
    # And the allocation breaks no rule.
    out = solve(problem, "cpsat", 30.0, **HELD_OPEN)
    assert not check(problem, out)
    # The Solution carries the soft stage's bound given the bands as placed.
    soft_bound = (out.model_extra or {})["soft_bound_given_bands"]
    assert soft_bound is not None and soft_bound >= out.objective


def test_a_worker_that_cannot_start_leaves_the_soft_lp_to_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_room(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(background_work, "BackgroundLp", no_room)
    problem = generate(3, 300, 600)
    out = solve(problem, "cpsat", 30.0, **HELD_OPEN)
    assert not check(problem, out)
    soft = (out.model_extra or {})["detail"]["stages"][-1]
    assert soft["stage"] == "soft" and "lp_ahead" not in soft
    assert "lp_priced_rounds" in soft  # priced in process instead
