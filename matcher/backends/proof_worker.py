"""A band stage proved by CBC in a process of its own, while the caller goes on.

CBC is single-threaded and a band proof is long: in process it leaves the second core idle
and every later stage waiting. The stage's sub-model travels to ``python -m
matcher.backends.proof_worker`` as one ``.npz`` file; the caller holds the band at its value
and goes on, and a better solution sends it back to that stage. Given the incumbent, the
worker runs the CBC program from it (`matcher.backends.cbc_command`); otherwise
`mip_prover.maximise`. Its values are checked against every row. The worker leads a process
group of its own, so stopping it stops CBC too. Figures: `benchmarks/NOTES.md` ("Batch solver").
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np

from matcher.backends import cbc_command, highs_worker
from matcher.backends.mip_prover import MipOutcome
from matcher.backends.submodel import UNBOUNDED, SparseModel
from matcher.backends.worker_process import WorkerProcess, model_arrays, model_from


class BackgroundProof:
    """One CBC maximisation running in a child process; `outcome` collects it."""

    def __init__(
        self,
        model: SparseModel,
        objective: np.ndarray,
        time_limit_s: float,
        niceness: int = 0,
        start: np.ndarray | None = None,
        solver: str = "cbc",
    ) -> None:
        """Start the worker; a positive `niceness` lowers its CPU priority (a proof of a later
        band yields to one of an earlier band when they share a core). `start`, a feasible
        point of `model` (the incumbent), lets CBC begin from it. `solver` "highs" runs
        HiGHS's worker (`matcher.backends.highs_worker`, which needs the start) instead."""
        self.time_limit_s = time_limit_s
        module = "matcher.backends.proof_worker"
        question = {
            "objective": objective,
            "time_limit": np.array([time_limit_s]),
            "incumbent": np.zeros(0, dtype=np.int64) if start is None else start,
            **model_arrays(model),
        }
        if solver == "highs" and start is not None:
            module = highs_worker.WORKER_MODULE
            question = highs_worker.question(model_arrays(model), objective, start, time_limit_s)
        question["niceness"] = np.array([niceness])
        self._worker = WorkerProcess(module, question)
        self.started = self._worker.started

    @property
    def pid(self) -> int:
        """The worker's process id, which is also its process group's."""
        return self._worker.pid

    def finished(self) -> bool:
        return self._worker.finished()

    def outcome(self, wait_until: float | None = None) -> MipOutcome | None:
        """The answer, waiting for it until `wait_until` (a `perf_counter` time; None: no
        wait). None while the worker is still running; a worker that failed gives an outcome
        without values or bound. Once answered, the worker's files are gone."""
        if not self._worker.wait(wait_until):
            return None
        seconds = time.perf_counter() - self.started
        try:
            if not self._worker.succeeded:
                return MipOutcome(None, UNBOUNDED, False, seconds)
            with np.load(self._worker.answer) as answer:
                values = answer["values"] if bool(answer["found"][0]) else None
                return MipOutcome(
                    values, int(answer["bound"][0]), bool(answer["optimal"][0]), seconds
                )
        finally:
            self._worker.remove_files()

    def cancel(self) -> None:
        """Stop the worker (if it still runs) and remove its files."""
        self._worker.cancel()


def _prove(question: Path, answer: Path) -> None:
    with np.load(question) as data:
        model = model_from(data)
        objective, time_limit = data["objective"], float(data["time_limit"][0])
        niceness = int(data["niceness"][0])
        start = data["incumbent"]
    if niceness > 0 and hasattr(os, "nice"):
        os.nice(niceness)
    # The files go beside the question, in the folder the caller removes.
    out = cbc_command.prove(
        model, objective, time_limit, start if start.size else None, answer.parent
    )
    values = out.values if out.values is not None else np.zeros(0, dtype=np.int64)
    np.savez(
        answer,
        found=np.array([out.values is not None]),
        values=values,
        bound=np.array([out.bound]),
        optimal=np.array([out.optimal]),
    )


if __name__ == "__main__":
    _prove(Path(sys.argv[1]), Path(sys.argv[2]))
