"""A module of this package run in a process of its own, on a question in one ``.npz`` file
and answering in another: the shape shared by the band proofs (`proof_worker`) and the soft
LP started ahead (`lp_worker`).

The worker leads a process group of its own, so that stopping it stops whatever it started
too (the CBC program); its files live in a temporary folder, removed once it has answered
or been stopped.
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

from matcher.backends.submodel import SparseModel

MODEL_FIELDS = ("lower", "upper", "start", "col", "coef", "lo", "hi")


def model_arrays(model: SparseModel) -> dict[str, np.ndarray]:
    """The arrays a worker rebuilds `model` from (`model_from`)."""
    return {name: getattr(model, name) for name in MODEL_FIELDS}


def model_from(data: np.lib.npyio.NpzFile) -> SparseModel:
    return SparseModel(**{name: data[name] for name in MODEL_FIELDS})


def start_module(module: str, *arguments: str, stdin: int | None = None) -> subprocess.Popen[str]:
    """``python -m <module> <arguments>`` leading a process group of its own, its output
    discarded (a solver's banner must not reach the caller's stdout)."""
    # The worker imports this very package, wherever the caller found it.
    package_root = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))
    return subprocess.Popen(
        [sys.executable, "-m", module, *arguments],
        stdin=stdin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": path},
        start_new_session=True,
        text=True,
    )


def stop_group(process: subprocess.Popen[str]) -> None:
    """Stop `process` and whatever it started, if it still runs, and close its input."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):  # it may end meanwhile
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.stdin is not None:
        with contextlib.suppress(OSError):  # a question it never read: nothing to flush to
            process.stdin.close()


class WorkerProcess:
    """``python -m <module> QUESTION ANSWER`` with `arrays` as the question."""

    def __init__(self, module: str, arrays: dict[str, np.ndarray]) -> None:
        self.started = time.perf_counter()
        self._folder = tempfile.TemporaryDirectory(prefix="bedmatch-worker-")
        folder = Path(self._folder.name)
        question, self.answer = folder / "in.npz", folder / "out.npz"
        np.savez(question, **arrays)  # type: ignore[arg-type]
        self._process = start_module(module, str(question), str(self.answer))

    @property
    def pid(self) -> int:
        """The worker's process id, which is also its process group's."""
        return self._process.pid

    def finished(self) -> bool:
        return self._process.poll() is not None

    def wait(self, wait_until: float | None) -> bool:
        """Whether the worker has ended, waiting for it until `wait_until` (a `perf_counter`
        time; None: no wait)."""
        if wait_until is not None and not self.finished():
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=max(wait_until - time.perf_counter(), 0.0))
        return self.finished()

    @property
    def succeeded(self) -> bool:
        return self._process.returncode == 0

    def remove_files(self) -> None:
        self._folder.cleanup()

    def cancel(self) -> None:
        """Stop the worker (if it still runs) and remove its files."""
        stop_group(self._process)
        self.remove_files()
