"""A band stage proved by CBC in a process of its own, while the caller goes on.

CBC is single-threaded and a band proof is long (on `generate(1501, 1500, 3000,
stress="tight_caseloads")` 36 s for band 2, where its LP-guided piece had already found the
optimum in a second). Run in process, it leaves the second core idle and every later stage
waiting. Here the stage's sub-model travels to ``python -m matcher.backends.proof_worker``
as one ``.npz`` file; the caller holds the band at the value it has (speculating that it is
the optimum), goes on with the next stages, and reads the answer when it is there: a proof
that confirms the value makes everything done since valid; a better solution sends the
caller back to that stage (`matcher.backends.cpsat`).

Given the incumbent as a start, the worker runs the CBC program from it
(`matcher.backends.cbc_command`: medium band 1 proved in 27 s, not 77 s); without one, or
where that program does not run or the start breaks a row, `mip_prover.maximise` on the same
arrays, the answer an in-process proof would give. Either way its values are checked against
every row. The worker leads a process group of its own, so that stopping it stops the CBC
program it started too.
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

from matcher.backends import cbc_command
from matcher.backends.mip_prover import MipOutcome
from matcher.backends.submodel import UNBOUNDED, SparseModel

_FIELDS = ("lower", "upper", "start", "col", "coef", "lo", "hi")


class BackgroundProof:
    """One CBC maximisation running in a child process; `outcome` collects it."""

    def __init__(
        self,
        model: SparseModel,
        objective: np.ndarray,
        time_limit_s: float,
        niceness: int = 0,
        start: np.ndarray | None = None,
    ) -> None:
        """Start the worker; a positive `niceness` lowers its CPU priority (a proof of a later
        band yields to one of an earlier band when they share a core). `start`, a feasible
        point of `model` (the incumbent), lets CBC begin from it."""
        self.started = time.perf_counter()
        self.time_limit_s = time_limit_s
        self._folder = tempfile.TemporaryDirectory(prefix="bedmatch-proof-")
        folder = Path(self._folder.name)
        question, self._answer = folder / "in.npz", folder / "out.npz"
        arrays = {name: getattr(model, name) for name in _FIELDS}
        np.savez(
            question,
            objective=objective,
            time_limit=np.array([time_limit_s]),
            niceness=np.array([niceness]),
            incumbent=np.zeros(0, dtype=np.int64) if start is None else start,
            **arrays,  # type: ignore[arg-type]
        )
        # The worker imports this very package, wherever the caller found it.
        package_root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))
        command = [sys.executable, "-m", "matcher.backends.proof_worker", str(question)]
        self._process = subprocess.Popen(
            [*command, str(self._answer)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True,
        )

    def finished(self) -> bool:
        return self._process.poll() is not None

    def outcome(self, wait_until: float | None = None) -> MipOutcome | None:
        """The answer, waiting for it until `wait_until` (a `perf_counter` time; None: no
        wait). None while the worker is still running; a worker that failed gives an outcome
        without values or bound. Once answered, the worker's files are gone."""
        if wait_until is not None and not self.finished():
            try:
                self._process.wait(timeout=max(wait_until - time.perf_counter(), 0.0))
            except subprocess.TimeoutExpired:
                return None
        if not self.finished():
            return None
        seconds = time.perf_counter() - self.started
        try:
            if self._process.returncode != 0:
                return MipOutcome(None, UNBOUNDED, False, seconds)
            with np.load(self._answer) as answer:
                values = answer["values"] if bool(answer["found"][0]) else None
                return MipOutcome(
                    values, int(answer["bound"][0]), bool(answer["optimal"][0]), seconds
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


def _prove(question: Path, answer: Path) -> None:
    with np.load(question) as data:
        model = SparseModel(**{name: data[name] for name in _FIELDS})
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
