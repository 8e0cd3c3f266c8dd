"""Where a benchmark ran (machine, versions, git SHA) and how its memory is measured.

Each measurement runs in a forked child process, so `ru_maxrss` of that child is the peak
resident memory of that measurement alone (plus the interpreter and imports it inherited),
not of whatever ran before it in the runner, and a crash or a runaway solve is contained.
"""

from __future__ import annotations

import multiprocessing
import os
import platform
import resource
import subprocess
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


def current_rss_bytes() -> int | None:
    """This process's resident memory now, where /proc says it."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


class IsolatedFailure(RuntimeError):
    """The measurement raised, died or ran out of time in its child process."""


def _child(fn: Callable[..., dict[str, Any]], kwargs: dict[str, Any], conn: Connection) -> None:
    try:
        result = fn(**kwargs)
        result.setdefault("peak_rss_bytes", peak_rss_bytes())
        # Worker processes the measurement started and waited for (a solver's proof worker):
        # the largest one's peak, which runs beside this process's own.
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
        result.setdefault("peak_rss_children_bytes", children)
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
