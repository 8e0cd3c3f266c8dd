"""HiGHS in its worker process: the PuLP backend's first choice, held to its deadline."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from matcher.backends import highs_worker
from matcher.backends.pulp_backend import HIGHSPY, PulpBackend, _first_available
from matcher.backends.worker_process import model_arrays
from tests.matcher.test_priced_lp import knapsack

pytestmark = pytest.mark.skipif(not highs_worker.available(), reason="highspy is not installed")


def _arrays() -> dict[str, np.ndarray]:
    return model_arrays(knapsack())


def test_the_pulp_backend_solves_with_highs_in_its_worker_first() -> None:
    assert _first_available(None) == HIGHSPY
    assert PulpBackend().available()


def test_the_worker_answers_a_small_program_within_its_limit() -> None:
    arrays = _arrays()
    n = len(arrays["lower"])
    answer = highs_worker.maximise(arrays, np.ones(n), np.zeros(n, dtype=np.int64), 20.0)
    assert answer.values is not None and answer.optimal
    assert answer.bound == int(answer.values.sum())


def test_one_process_answers_a_solves_programs_in_turn() -> None:
    arrays = _arrays()
    n = len(arrays["lower"])
    highs = highs_worker.HighsProcess()
    try:
        first = highs.ask(arrays, np.ones(n), np.zeros(n, dtype=np.int64), 20.0)
        serving = highs.pid
        # A second program, the first two people only: both fit.
        objective = np.array([1, 1, 0])
        second = highs.ask(arrays, objective, np.zeros(n, dtype=np.int64), 20.0)
        assert highs.pid == serving is not None
    finally:
        highs.close()
    assert first.values is not None and first.optimal and first.bound == 2
    assert second.values is not None and second.optimal
    assert second.bound == int(objective @ second.values) == 2
    assert highs.pid is None


def _stuck(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The worker module swapped for one that never answers; where its child's pid goes."""
    child_pid = tmp_path / "child.pid"
    monkeypatch.setenv("STUCK_WORKER_PID_FILE", str(child_pid))
    monkeypatch.setattr(highs_worker, "WORKER_MODULE", "tests.matcher.stuck_worker")
    return child_pid


def test_a_serving_process_past_its_deadline_is_stopped_and_the_next_program_starts_afresh(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    child_pid = _stuck(monkeypatch, tmp_path)
    arrays = _arrays()
    n = len(arrays["lower"])
    highs = highs_worker.HighsProcess()
    try:
        started = time.perf_counter()
        stuck = highs.ask(arrays, np.ones(n), np.zeros(n, dtype=np.int64), 1.0)
        took = time.perf_counter() - started
        assert stuck.values is None and not stuck.optimal
        assert took < 1.0 + highs_worker.STOP_AFTER_SECONDS + 5.0
        _assert_stopped(int(child_pid.read_text()))
        monkeypatch.undo()
        answered = highs.ask(arrays, np.ones(n), np.zeros(n, dtype=np.int64), 20.0)
        assert answered.optimal and answered.bound == 2
    finally:
        highs.close()


def test_a_worker_past_its_deadline_is_stopped_with_its_children_and_no_answer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """HiGHS may not look at its clock for minutes: the caller stops the whole worker at the
    deadline, whatever it runs, and keeps no answer."""
    child_pid = _stuck(monkeypatch, tmp_path)
    arrays = _arrays()
    n = len(arrays["lower"])
    started = time.perf_counter()
    answer = highs_worker.maximise(arrays, np.ones(n), np.zeros(n, dtype=np.int64), 1.0)
    took = time.perf_counter() - started
    assert answer.values is None and not answer.optimal
    assert took < 1.0 + highs_worker.STOP_AFTER_SECONDS + 5.0
    _assert_stopped(int(child_pid.read_text()))


def _assert_stopped(pid: int) -> None:
    """The stuck worker's child `pid` ended with its process group (a zombie at most)."""
    for _ in range(50):  # the group was killed; the orphan is reaped by init soon after
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        with open(f"/proc/{pid}/stat") as stat:
            assert stat.read().split()[2] == "Z", "the worker's child still runs"
