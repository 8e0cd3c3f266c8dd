"""The CBC program as a band prover started from the incumbent: the optimum CBC in OR-Tools
proves, from any feasible start, and an honest bound when it stops early."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.backends import cbc_command, mip_prover
from matcher.backends.linear import LinearModel
from matcher.backends.proof_worker import BackgroundProof
from matcher.backends.submodel import UNBOUNDED, SparseModel
from tests.matcher.helpers import three_people_seven_hours

EXECUTABLE = cbc_command.program()
pytestmark = pytest.mark.skipif(
    EXECUTABLE is None or not mip_prover.available(), reason="no CBC program here"
)


def test_a_knapsack_started_below_its_optimum_is_solved(tmp_path: Path) -> None:
    sparse = three_people_seven_hours()
    start = np.array([0, 0, 1])
    out = cbc_command.maximise_from(sparse, np.array([1, 1, 1]), start, 10.0, tmp_path, EXECUTABLE)
    assert out.optimal and out.bound == 2
    assert out.values is not None and int(out.values.sum()) == 2
    assert sparse.feasible(out.values)


def test_cbc_takes_the_start_at_its_value(tmp_path: Path) -> None:
    # CBC minimises: the start must cost its value negated, or (as under ``-max``) it is an
    # incumbent worse than any solution and cuts nothing off. Two knapsacks, so that CBC's
    # preprocessing does not solve the model before it reads the start.
    model = LinearModel()
    model.add_vars(12, 0, 1)
    weights = [5, 7, 9, 11, 13, 17, 19, 23, 29, 31, 37, 41]
    model.add_row(list(range(12)), weights, None, 97)
    model.add_row(list(range(12)), weights[::-1], None, 97)
    sparse = SparseModel.of(model)
    objective = np.array([6, 8, 9, 12, 14, 17, 20, 22, 30, 30, 38, 40])
    start = np.zeros(12, dtype=np.int64)
    start[[0, 11]] = 1  # worth 46
    out = cbc_command.maximise_from(sparse, objective, start, 10.0, tmp_path, EXECUTABLE)
    assert out.optimal and out.values is not None and sparse.feasible(out.values)
    log = (tmp_path / "cbc.log").read_text()
    assert re.findall(r"MIPStart provided solution with cost (\S+)", log) == ["-46"]


@st.composite
def models_around_a_point(draw: st.DrawFn) -> tuple[SparseModel, np.ndarray, np.ndarray]:
    """Integer models with every kind of row and bound, built around a point that keeps them
    (the start), and an objective."""
    n_vars = draw(st.integers(1, 8))
    start = np.array([draw(st.integers(0, 3)) for _ in range(n_vars)], dtype=np.int64)
    model = LinearModel()
    for j in range(n_vars):
        upper = draw(st.sampled_from([3, 5, None]))
        model.add_vars(1, 0, UNBOUNDED if upper is None else max(upper, int(start[j])))
    for _ in range(draw(st.integers(0, 6))):
        cols = sorted(draw(st.sets(st.integers(0, n_vars - 1), min_size=1, max_size=n_vars)))
        coefs = [draw(st.integers(-4, 6).filter(bool)) for _ in cols]
        activity = int(np.dot(coefs, start[cols]))
        kind = draw(st.sampled_from(["le", "ge", "eq", "range"]))
        lo = None if kind == "le" else activity - (draw(st.integers(0, 4)) if kind != "eq" else 0)
        hi = None if kind == "ge" else activity + (draw(st.integers(0, 4)) if kind != "eq" else 0)
        model.add_row(cols, coefs, lo, hi)
    # Bounded above: every variable with an open upper bound gets a row capping it.
    for j in range(n_vars):
        model.add_row([j], [1], None, int(start[j]) + draw(st.integers(0, 4)))
    objective = np.array([draw(st.integers(0, 5)) for _ in range(n_vars)], dtype=np.int64)
    return SparseModel.of(model), objective, start


@settings(max_examples=25, deadline=None)
@given(case=models_around_a_point())
def test_the_optimum_is_the_one_cbc_in_or_tools_proves(
    case: tuple[SparseModel, np.ndarray, np.ndarray], tmp_path_factory: pytest.TempPathFactory
) -> None:
    sparse, objective, start = case
    assert sparse.feasible(start)
    folder = tmp_path_factory.mktemp("cbc")
    out = cbc_command.maximise_from(sparse, objective, start, 10.0, folder, EXECUTABLE)
    reference = mip_prover.maximise(sparse, objective, 10.0)
    assert reference.optimal and reference.values is not None
    assert out.values is not None and sparse.feasible(out.values)
    if out.optimal:
        assert int(objective @ out.values) == int(objective @ reference.values) == out.bound
    else:  # only where CBC's answer fell below its start: the start, and no bound
        assert out.bound == UNBOUNDED and np.array_equal(out.values, start)
    assert out.bound >= int(objective @ start)


def test_an_answer_below_the_start_is_not_taken(tmp_path: Path) -> None:
    # CBC 2.10's preprocessing calls 1 optimal here; the start scores 2 (so does the optimum).
    model = LinearModel()
    model.add_vars(4, 0, 3)
    for j in range(4):
        model.add_row([j], [1], None, [1, 2, 1, 2][j])
    model.add_row([0, 1, 2, 3], [1, 2, -2, 2], 1, 2)
    model.add_row([0, 1, 2], [1, -1, 2], 1, 1)
    sparse = SparseModel.of(model)
    objective, start = np.array([2, 0, 0, 1]), np.array([1, 0, 0, 0])
    out = cbc_command.maximise_from(sparse, objective, start, 10.0, tmp_path, EXECUTABLE)
    assert out.values is not None and int(objective @ out.values) >= 2
    assert out.bound >= 2


def test_a_bound_is_read_from_the_log_in_the_sense_of_the_maximum() -> None:
    log = "Partial search - best objective -396 (best possible -398.5), took 10 iterations"
    assert cbc_command._bound_from_log(log) == 398
    assert cbc_command._bound_from_log("Search completed - best objective -396") == UNBOUNDED
    assert cbc_command._bound_from_log("best possible -1e+50") == UNBOUNDED


def test_the_worker_starts_cbc_from_the_incumbent() -> None:
    sparse = three_people_seven_hours()
    proof = BackgroundProof(sparse, np.array([1, 1, 1]), 10.0, start=np.array([1, 0, 0]))
    out = proof.outcome(wait_until=float("inf"))
    assert out is not None and out.optimal and out.bound == 2
    assert out.values is not None and sparse.feasible(out.values)


def test_a_run_that_gives_no_solution_still_gives_back_the_start(tmp_path: Path) -> None:
    # `true` stands for a CBC that rejects the start and finds nothing before its limit.
    model = LinearModel()
    model.add_vars(2, 0, 1)
    model.add_row([0, 1], [1, 1], None, 1)
    start = np.array([1, 0])
    nothing = shutil.which("true") or "true"
    out = cbc_command.maximise_from(
        SparseModel.of(model), np.array([1, 1]), start, 5.0, tmp_path, nothing
    )
    assert out.values is not None and list(out.values) == [1, 0]
    assert not out.optimal and out.bound >= 1


def test_a_stopped_run_ends_at_once_and_gives_back_the_start(tmp_path: Path) -> None:
    # A program that would run for a minute stands for CBC stuck at its root: setting the
    # event ends it (the race of soft pieces stops CBC when CP-SAT has proved its answer).
    slow = tmp_path / "slow-cbc"
    slow.write_text("#!/bin/sh\nexec sleep 60\n")
    slow.chmod(0o755)
    model = LinearModel()
    model.add_vars(2, 0, 1)
    model.add_row([0, 1], [1, 1], None, 1)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    started = time.perf_counter()
    out = cbc_command.maximise_from(
        SparseModel.of(model), np.array([1, 1]), np.array([0, 1]), 60.0, tmp_path, str(slow), stop
    )
    assert time.perf_counter() - started < 10.0
    assert out.values is not None and list(out.values) == [0, 1]
    assert not out.optimal


def test_finding_the_program_holds_nothing_of_its_caller() -> None:
    # In a fresh interpreter, as in a service's first solve: PuLP's import keeps tracebacks,
    # and whatever frames are under it when it runs stay alive with them.
    code = """
import gc, weakref
from matcher.backends import cbc_command

class Model:
    pass

def solve():
    model = Model()
    cbc_command.program()
    return weakref.ref(model)

held = solve()
gc.collect()
assert held() is None, "the caller's frame is still held"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
