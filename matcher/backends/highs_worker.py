"""Integer programs solved by HiGHS (highspy) in a process of its own.

OR-Tools ships its own copy of the HiGHS library: once either is loaded, importing the other
in the same process fails on unresolved symbols (which is also why PuLP's in-process `HiGHS`
reports itself unavailable here). So the PuLP backend hands each stage's model — the CSR
arrays of `matcher.backends.submodel` — to ``python -m matcher.backends.highs_worker``, which
imports highspy before OR-Tools could load and answers with the solution, the proven bound and
whether it is optimal. The arrays travel as one ``.npz`` file each way. A PuLP solve keeps
one such process for all its programs (`HighsProcess`: a fresh interpreter costs more than a
small stage's program); a band proof beside the run has one of its own.

The worker is also what holds a stage to its time limit: HiGHS does not look at its clock
everywhere (one round of cuts at the root of `varied_medium-3011`'s band 3 ran 247 s against a
limit of 51 s, figures in `benchmarks/NOTES.md`), so the caller stops the worker's process
group a second past the deadline, keeping no answer, and the stage keeps its incumbent.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from matcher.backends.submodel import UNBOUNDED, SparseModel
from matcher.backends.worker_process import WorkerProcess, model_arrays, start_module, stop_group

WORKER_MODULE = "matcher.backends.highs_worker"
# A worker still running this long after its deadline is stopped: HiGHS writing its answer
# takes a fraction of it.
STOP_AFTER_SECONDS = 1.0
# The argument that has the worker answer question after question (`HighsProcess`).
SERVE = "--serve"
# How often `HighsProcess` looks for its answer.
POLL_SECONDS = 0.005


@dataclass(frozen=True)
class HighsAnswer:
    values: np.ndarray | None  # None when no feasible point was found in time
    bound: int  # proven upper bound of the maximum (UNBOUNDED if none)
    optimal: bool

    def maximum(self, gap: float) -> tuple[np.ndarray | None, int, bool]:
        """As a `stage_strategy.Maximiser` answers: proven optimal only if asked for no gap."""
        return self.values, self.bound, self.optimal and gap == 0


@functools.cache
def available() -> bool:
    """Whether highspy imports in a fresh interpreter (asked once per process)."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", "import highspy"], capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def question(
    arrays: dict[str, np.ndarray],
    objective: np.ndarray,
    start: np.ndarray,
    time_limit_s: float,
    gap: float = 0.0,
) -> dict[str, np.ndarray]:
    """What the worker reads: the model's `arrays`, the objective, the start and the limits."""
    return {
        **arrays,
        "objective": objective,
        "start_values": start,
        "time_limit": np.array([time_limit_s]),
        "gap": np.array([gap]),
        # The worker counts its own start and the model's loading against the limit.
        "deadline": np.array([time.time() + time_limit_s]),
    }


def maximise(
    arrays: dict[str, np.ndarray],
    objective: np.ndarray,
    start: np.ndarray,
    time_limit_s: float,
    gap: float = 0.0,
) -> HighsAnswer:
    """Maximise `objective` over the integer points of the model in `arrays` (the fields of a
    `SparseModel`), starting from the feasible point `start`, for at most `time_limit_s`,
    stopping within a relative `gap` of the bound (0: proven optimal)."""
    worker = WorkerProcess(WORKER_MODULE, question(arrays, objective, start, time_limit_s, gap))
    try:
        ended = worker.wait(time.perf_counter() + time_limit_s + STOP_AFTER_SECONDS)
        if not (ended and worker.succeeded):
            return HighsAnswer(None, UNBOUNDED, False)
        return _read(worker.answer)
    finally:
        worker.cancel()  # stops it, with what it started, if it still runs


def highs_maximise(
    model: SparseModel, objective: np.ndarray, start: np.ndarray, time_limit_s: float, gap: float
) -> tuple[np.ndarray | None, int, bool]:
    """(values or None, proven bound, proven optimal) of one integer program over `model`
    (a `stage_strategy.Maximiser`), in a worker of its own."""
    return maximise(model_arrays(model), objective, start, time_limit_s, gap).maximum(gap)


class HighsProcess:
    """One HiGHS worker answering a solve's integer programs in turn: on small stages a fresh
    interpreter's start (0.2-0.3 s) costs more than HiGHS's solve. A program past its deadline
    stops the process and what it started, keeping no answer; the next starts a fresh one.
    `close` stops it for good."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="bedmatch-highs-")
        self._process: subprocess.Popen[str] | None = None
        self._asked = 0

    def maximise(
        self,
        model: SparseModel,
        objective: np.ndarray,
        start: np.ndarray,
        time_limit_s: float,
        gap: float,
    ) -> tuple[np.ndarray | None, int, bool]:
        """As `highs_maximise`, in this process (a `stage_strategy.Maximiser`)."""
        return self.ask(model_arrays(model), objective, start, time_limit_s, gap).maximum(gap)

    def ask(
        self,
        arrays: dict[str, np.ndarray],
        objective: np.ndarray,
        start: np.ndarray,
        time_limit_s: float,
        gap: float = 0.0,
    ) -> HighsAnswer:
        """As `maximise` (the module's), in this process."""
        self._asked += 1
        folder = Path(self._folder.name)
        asked, answer = folder / f"q{self._asked}.npz", folder / f"a{self._asked}.npz"
        np.savez(asked, **question(arrays, objective, start, time_limit_s, gap))  # type: ignore[arg-type]
        wait_until = time.perf_counter() + time_limit_s + STOP_AFTER_SECONDS
        process = self._running()
        try:
            assert process.stdin is not None
            process.stdin.write(f"{asked} {answer}\n")
            process.stdin.flush()
            while not answer.exists():
                if process.poll() is not None or time.perf_counter() > wait_until:
                    self._stop()
                    return HighsAnswer(None, UNBOUNDED, False)
                time.sleep(POLL_SECONDS)
            return _read(answer)
        except OSError:  # the process ended before reading the question
            self._stop()
            return HighsAnswer(None, UNBOUNDED, False)
        finally:
            asked.unlink(missing_ok=True)
            answer.unlink(missing_ok=True)

    @property
    def pid(self) -> int | None:
        """The serving process's id (and its group's), None when none runs."""
        return None if self._process is None else self._process.pid

    def close(self) -> None:
        self._stop()
        self._folder.cleanup()

    def _running(self) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            self._process = start_module(WORKER_MODULE, SERVE, stdin=subprocess.PIPE)
        return self._process

    def _stop(self) -> None:
        if self._process is not None:
            stop_group(self._process)
            self._process = None


def _read(answer: Path) -> HighsAnswer:
    with np.load(answer) as out:
        values = out["values"] if bool(out["found"][0]) else None
        return HighsAnswer(values, int(out["bound"][0]), bool(out["optimal"][0]))


def _serve() -> None:
    """Answer each ``QUESTION ANSWER`` line of stdin in turn; an answer appears whole (written
    aside, then renamed), so the caller reads it as soon as it exists."""
    for line in sys.stdin:
        asked, answer = line.split()
        aside = Path(answer).with_suffix(".part.npz")
        _solve(Path(asked), aside)
        os.replace(aside, answer)


def _solve(question: Path, answer: Path) -> None:
    import highspy

    data = np.load(question)
    if "niceness" in data and int(data["niceness"][0]) > 0 and hasattr(os, "nice"):
        os.nice(int(data["niceness"][0]))  # a later band's proof yields to an earlier one's
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    # Reading the question took some of the time: HiGHS gets what is left of it.
    limit = float(data["time_limit"][0])
    if "deadline" in data:
        limit = min(limit, float(data["deadline"][0]) - time.time())
    h.setOptionValue("time_limit", max(limit, 0.1))
    # HiGHS stops at a 0.01% gap by default; stages are exact unless a soft gap is asked.
    h.setOptionValue("mip_rel_gap", float(data["gap"][0]))
    lower, upper = data["lower"].astype(float), data["upper"].astype(float)
    n = len(lower)
    inf = highspy.kHighsInf
    h.addVars(n, lower, upper)
    h.changeColsIntegrality(
        n, np.arange(n, dtype=np.int32), np.full(n, highspy.HighsVarType.kInteger)
    )
    lo, hi, start = data["lo"], data["hi"], data["start"]
    h.addRows(
        len(lo),
        np.where(lo <= -UNBOUNDED, -inf, lo.astype(float)),
        np.where(hi >= UNBOUNDED, inf, hi.astype(float)),
        len(data["col"]),
        start[:-1].astype(np.int32),
        data["col"].astype(np.int32),
        data["coef"].astype(float),
    )
    objective = data["objective"]
    nz = np.flatnonzero(objective)
    h.changeColsCost(len(nz), nz.astype(np.int32), objective[nz].astype(float))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    hint = highspy.HighsSolution()
    hint.col_value = data["start_values"].astype(float).tolist()
    hint.value_valid = True
    h.setSolution(hint)
    h.run()
    info = h.getInfo()
    found = info.primal_solution_status == 2  # a feasible point
    values = (
        np.rint(np.asarray(h.getSolution().col_value)).astype(np.int64)
        if found
        else np.zeros(n, dtype=np.int64)
    )
    dual = info.mip_dual_bound
    np.savez(
        answer,
        found=np.array([found]),
        values=values,
        bound=np.array([int(np.floor(dual + 1e-6)) if np.isfinite(dual) else UNBOUNDED]),
        optimal=np.array([h.getModelStatus() == highspy.HighsModelStatus.kOptimal]),
    )


if __name__ == "__main__":
    if sys.argv[1:] == [SERVE]:
        _serve()
    else:
        _solve(Path(sys.argv[1]), Path(sys.argv[2]))
