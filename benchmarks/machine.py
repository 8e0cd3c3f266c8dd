"""Where a benchmark ran (machine, versions, git SHA) and how its memory is measured.

Each measurement runs in a forked child process, so `ru_maxrss` of that child is the peak
resident memory of that measurement alone (plus the interpreter and imports it inherited),
not of whatever ran before it in the runner, and a crash or a runaway solve is contained.
The workers a measurement starts, and the whole tree at one moment, are sampled beside it
(`TreeMemory`).
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import subprocess
import threading
import traceback
from collections.abc import Callable
from importlib import metadata
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def git_sha() -> str:
    """The checked-out commit, with `-dirty` when tracked files differ from it."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "diff", "--quiet", "HEAD", "--"], cwd=REPO_ROOT, capture_output=True
        ).returncode
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """What the figures depend on: CPU, cores, memory, OS, Python and solver versions."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {
            name: _version(name) for name in ("numpy", "ortools", "pulp", "highspy", "pydantic")
        },
    }


def machine_label(info: dict[str, Any]) -> str:
    """A short line naming the machine, for each record and the table heading."""
    memory = info.get("memory_bytes")
    gib = f", {memory / (1 << 30):.0f} GiB" if memory else ""
    return f"{info.get('cpu')}, {info.get('cores')} cores{gib}"


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(pid: int, field: str) -> int | None:
    """A `/proc/PID/status` figure in KiB (VmHWM, VmRSS), None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _pss_kib(pid: int) -> int | None:
    """The proportional set size of a process in KiB: each page shared with others counted
    in part (a worker's copy-on-write pages are not counted twice)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _descendants(root: int) -> list[int]:
    """The processes below `root`, from each process's parent in `/proc`."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class TreeMemory:
    """This process and the processes it starts, sampled in a thread every `interval_s`.

    `ru_maxrss` of a worker started by fork and exec begins at its parent's resident set at
    the spawn (Linux keeps the larger of the two), so `RUSAGE_CHILDREN` gives the parent's
    size, not the worker's. Here each worker's own peak is its `VmHWM`, and the tree's is the
    largest sum of proportional set sizes at one sample; both are samples (a worker that lives
    less than `interval_s` may be missed), where the measuring process's own `ru_maxrss` is
    exact."""

    def __init__(self, interval_s: float = 0.2) -> None:
        self.interval_s = interval_s
        self.worker_peak_kib = 0
        self.tree_pss_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        root = os.getpid()
        total = _pss_kib(root) or 0
        for pid in _descendants(root):
            own = _status_kib(pid, "VmHWM")
            self.worker_peak_kib = max(self.worker_peak_kib, own or 0)
            total += _pss_kib(pid) or 0
        self.tree_pss_kib = max(self.tree_pss_kib, total)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()


class IsolatedFailure(RuntimeError):
    """The measurement raised, died or ran out of time in its child process."""


def _child(fn: Callable[..., dict[str, Any]], kwargs: dict[str, Any], conn: Connection) -> None:
    try:
        with TreeMemory() as tree:
            result = fn(**kwargs)
            tree.sample()
        result.setdefault("peak_rss_bytes", peak_rss_bytes())
        # Worker processes the measurement started (a solver's proof worker): the largest
        # one's own peak, which runs beside this process's (`TreeMemory`).
        result.setdefault("peak_rss_children_bytes", tree.worker_peak_kib * 1024)
        # This process and its workers at one moment, shared pages counted once.
        result.setdefault("peak_tree_pss_bytes", tree.tree_pss_kib * 1024)
        conn.send(("ok", result))
    except BaseException as error:  # report everything, the parent decides
        conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
    finally:
        conn.close()


def run_isolated(
    fn: Callable[..., dict[str, Any]], timeout_s: float, **kwargs: Any
) -> dict[str, Any]:
    """`fn(**kwargs)` in a forked child; its dict result gains the child's `peak_rss_bytes`
    and `peak_rss_children_bytes` (the largest of the processes it started and waited for)."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    # Not a daemon: a measurement may start worker processes of its own (the simulation does).
    child = context.Process(target=_child, args=(fn, kwargs, send), daemon=False)
    child.start()
    send.close()
    try:
        if not receive.poll(timeout_s):
            raise IsolatedFailure(f"no result within {timeout_s:.0f} s")
        outcome, payload = receive.recv()
    except EOFError:
        raise IsolatedFailure(f"the measurement process died (exit {child.exitcode})") from None
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        receive.close()
    if outcome != "ok":
        raise IsolatedFailure(payload)
    result: dict[str, Any] = payload
    return result
