"""A stage's priced LP (`matcher.backends.priced_lp`) solved in a process of its own.

A band nothing can prove in time is held open, and its work runs one process at a time, so
the second core would idle while the soft stage's LP, the slowest of the run, waits its turn.
Here the soft LP starts when the open band does, on the model with that band held at the count
it has then: a relaxation of the soft stage as it will be, so its bound holds and its columns
guide the soft piece. The model travels as one ``.npz`` file (`matcher.backends.worker_process`),
the held row beside it; the answer comes back the same way. Figures: `benchmarks/NOTES.md`
("Batch solver").
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from matcher.backends.linear import Row
from matcher.backends.priced_lp import PricedLp, priced_lp
from matcher.backends.settings import DEFAULT_SETTINGS, SolverSettings
from matcher.backends.submodel import SparseModel
from matcher.backends.worker_process import WorkerProcess, model_arrays, model_from


class BackgroundLp:
    """`priced_lp` over `model` with a band held at `at_least` (``weights @ x[pairs] >=
    at_least``), running in a child process; `outcome` collects it."""

    def __init__(
        self,
        model: SparseModel,
        pairs: np.ndarray,
        weights: np.ndarray,
        at_least: int,
        free: np.ndarray,
        objective: np.ndarray,
        start: np.ndarray,
        time_limit_s: float,
        dual_simplex: bool = False,
        niceness: int = 0,
        settings: SolverSettings = DEFAULT_SETTINGS,
    ) -> None:
        """Start the worker; a positive `niceness` lowers its CPU priority (the soft LP is of a
        later stage than the band it runs beside, whose work comes first)."""
        self._worker = WorkerProcess(
            "matcher.backends.lp_worker",
            {
                "pairs": pairs,
                "weights": weights,
                "at_least": np.array([at_least]),
                "free": free,
                "objective": objective,
                "columns": start,
                "time_limit": np.array([time_limit_s]),
                "dual_simplex": np.array([dual_simplex]),
                "niceness": np.array([niceness]),
                "pricing": np.array(
                    [settings.add_at_least, settings.most_per_round, settings.warm_start_most]
                ),
                **model_arrays(model),
            },
        )

    def finished(self) -> bool:
        return self._worker.finished()

    def outcome(self, wait_until: float | None = None) -> PricedLp | None:
        """The answer, waiting for it until `wait_until` (a `perf_counter` time; None: no
        wait). None while the worker still runs, or when it failed; once answered, the
        worker's files are gone."""
        if not self._worker.wait(wait_until):
            return None
        try:
            if not self._worker.succeeded:
                return None
            with np.load(self._worker.answer) as answer:
                bound = float(answer["bound"][0])
                support, reduced = answer["support"], answer["reduced"]
                rounds, warm_rounds, columns = (int(n) for n in answer["counts"])
                return PricedLp(
                    bound=None if np.isnan(bound) else bound,
                    support=support if support.size else None,
                    reduced=reduced if reduced.size else None,
                    rounds=rounds,
                    warm_rounds=warm_rounds,
                    columns=columns,
                    seconds=float(answer["seconds"][0]),
                )
        finally:
            self._worker.remove_files()

    def cancel(self) -> None:
        """Stop the worker (if it still runs) and remove its files."""
        self._worker.cancel()


def _solve(question: Path, answer: Path) -> None:
    with np.load(question) as data:
        held = Row(data["pairs"], data["weights"], int(data["at_least"][0]), None)
        # Only the model with the band held is kept: a city's model is 108 MiB a copy.
        model = model_from(data).with_rows([held])
        free, objective, start = data["free"], data["objective"], data["columns"]
        time_limit = float(data["time_limit"][0])
        dual_simplex = bool(data["dual_simplex"][0])
        niceness = int(data["niceness"][0])
        add_at_least, most_per_round, warm_start_most = (int(n) for n in data["pricing"])
    pricing = SolverSettings(
        add_at_least=add_at_least, most_per_round=most_per_round, warm_start_most=warm_start_most
    )
    if niceness > 0 and hasattr(os, "nice"):
        os.nice(niceness)
    out = priced_lp(model, free, objective, start, time_limit, dual_simplex, pricing)
    np.savez(
        answer,
        bound=np.array([np.nan if out.bound is None else out.bound]),
        support=np.zeros(0, dtype=bool) if out.support is None else out.support,
        reduced=np.zeros(0) if out.reduced is None else out.reduced,
        counts=np.array([out.rounds, out.warm_rounds, out.columns], dtype=np.int64),
        seconds=np.array([out.seconds]),
    )


if __name__ == "__main__":
    _solve(Path(sys.argv[1]), Path(sys.argv[2]))
