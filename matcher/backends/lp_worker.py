"""A stage's priced LP (`matcher.backends.priced_lp`) solved in a process of its own.

A band that nothing can prove in time (on the large instance band 1: 1,597,464 free
variables, neither solved whole nor proved by CBC) is held open at what its guided piece
and search give, and the soft stage follows it. That band's work is one process at a time
(GLOP in the caller, then the CBC program on its pieces), so the second core is idle for
20 s while the soft stage's LP, the slowest of the run, waits for its turn. Here the soft
LP starts when the open band does, on the model with that band held at the count it has
then (not yet at the count it will end with): a relaxation of the soft stage as it will be,
so the LP's bound is a bound on it too, and its columns guide the soft stage's piece as
its own would.

The model travels to ``python -m matcher.backends.lp_worker`` as one ``.npz`` file, the
held row beside it (the caller's model is not copied to add it); the answer comes back the
same way. The worker leads a process group of its own, so stopping it stops it all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from matcher.backends.classes import Row
from matcher.backends.priced_lp import PricedLp, priced_lp
from matcher.backends.submodel import UNBOUNDED, SparseModel

_FIELDS = ("lower", "upper", "start", "col", "coef", "lo", "hi")


class BackgroundLp:
    """`priced_lp(model + held, free, objective, start, time_limit_s, dual_simplex)` running
    in a child process; `outcome` collects it."""

    def __init__(
        self,
        model: SparseModel,
        held: Row,
        free: np.ndarray,
        objective: np.ndarray,
        start: np.ndarray,
        time_limit_s: float,
        dual_simplex: bool = False,
    ) -> None:
        self.started = time.perf_counter()
        self._folder = tempfile.TemporaryDirectory(prefix="bedmatch-lp-")
        folder = Path(self._folder.name)
        question, self._answer = folder / "in.npz", folder / "out.npz"
        np.savez(
            question,
            held_idx=np.asarray(held.idx, dtype=np.int64),
            held_coef=np.asarray(held.coef, dtype=np.int64),
            held_bounds=np.array([_side(held.lo, -1), _side(held.hi, 1)], dtype=np.int64),
            free=free,
            objective=objective,
            columns=start,
            time_limit=np.array([time_limit_s]),
            dual_simplex=np.array([dual_simplex]),
            **{name: getattr(model, name) for name in _FIELDS},
        )
        # The worker imports this very package, wherever the caller found it.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))
        self._process = subprocess.Popen(
            [sys.executable, "-m", "matcher.backends.lp_worker", str(question), str(self._answer)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,
        )

    def finished(self) -> bool:
        return self._process.poll() is not None

    def outcome(self, wait_until: float | None = None) -> PricedLp | None:
        """The answer, waiting for it until `wait_until` (a `perf_counter` time; None: no
        wait). None while the worker still runs, or when it failed; once answered, the
        worker's files are gone."""
        if wait_until is not None and not self.finished():
            try:
                self._process.wait(timeout=max(wait_until - time.perf_counter(), 0.0))
            except subprocess.TimeoutExpired:
                return None
        if not self.finished():
            return None
        try:
            if self._process.returncode != 0:
                return None
            with np.load(self._answer) as answer:
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
            self._folder.cleanup()

    def cancel(self) -> None:
        """Stop the worker (if it still runs) and remove its files."""
        if not self.finished():
            with contextlib.suppress(ProcessLookupError):  # it may end meanwhile
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._folder.cleanup()


def _side(bound: int | None, sign: int) -> int:
    """A row side as stored in `SparseModel` (open: the sentinel of that side)."""
    return sign * UNBOUNDED if bound is None else int(bound)


def _solve(question: Path, answer: Path) -> None:
    with np.load(question) as data:
        model = SparseModel(**{name: data[name] for name in _FIELDS})
        lo, hi = (int(side) for side in data["held_bounds"])
        held = Row(data["held_idx"], data["held_coef"], lo, hi)
        free, objective, start = data["free"], data["objective"], data["columns"]
        time_limit = float(data["time_limit"][0])
        dual_simplex = bool(data["dual_simplex"][0])
    out = priced_lp(model.with_rows([held]), free, objective, start, time_limit, dual_simplex)
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
