"""A band stage proved by the CBC program (the one PuLP ships), started from the incumbent.

OR-Tools' CBC interface takes no solution and no parameters (`matcher.backends.mip_prover`),
so a long proof spent most of its time finding the incumbent again. The program takes it as a
MIP start (``-mips``): with the optimum in hand, what is left is the proof, which CBC's
preprocessing often closes at the root (figures in `benchmarks/NOTES.md`, "Batch solver").

The stage goes to CBC as a free-format MPS file written from the CSR arrays and the start as
CBC's own solution format. The answer is read back from the solution file; the proven bound,
when CBC stops before it proves optimality, from its log ("best possible"). Values are
checked against every row before they are used.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import ModuleType

import numpy as np

from matcher.backends.mip_prover import MipOutcome, maximise
from matcher.backends.submodel import UNBOUNDED, SparseModel


def _import_pulp() -> ModuleType | None:
    with contextlib.suppress(ImportError):
        # OR-Tools first: PuLP loads highspy when it can, and OR-Tools loaded after highspy
        # has no CBC of its own (the fallback prover) in this process.
        import ortools.linear_solver.pywraplp  # noqa: F401
    try:
        return importlib.import_module("pulp")
    except ImportError:
        return None


# PuLP is imported with this module, never from inside a solve: its import keeps the errors
# of its solver probes on its solver classes, tracebacks and all, and a traceback keeps every
# frame beneath it alive, so imported at a solve's depth it held that solve's model for the
# life of the process (figures in `benchmarks/NOTES.md`).
PULP = _import_pulp()


@functools.cache
def program() -> str | None:
    """The CBC executable PuLP carries, if it runs here."""
    if PULP is None:
        return None
    # PuLP's own copy of CBC, run through COIN_CMD, the supported class (PULP_CBC_CMD, which
    # runs the same copy, is deprecated); pyproject keeps PuLP below 4, which drops the copy.
    bundled = os.path.normpath(PULP.apis.coin_api.pulp_cbc_path)
    solver = PULP.COIN_CMD(path=bundled, msg=False)
    return str(solver.path) if solver.available() else None


def prove(
    model: SparseModel,
    objective: np.ndarray,
    time_limit_s: float,
    start: np.ndarray | None,
    folder: Path | None = None,
    stop: threading.Event | None = None,
) -> MipOutcome:
    """Maximise ``objective @ x`` over the integer points of `model`: with the CBC program
    from `start` where the program runs here and `start` keeps every row (its files in
    `folder`, or in a temporary one), else with OR-Tools' CBC from nothing. Setting `stop`
    ends the CBC program early (its run then gives the start back)."""
    executable = program()
    if start is None or executable is None or not model.feasible(start):
        return maximise(model, objective, time_limit_s)
    if folder is not None:
        return maximise_from(model, objective, start, time_limit_s, folder, executable, stop)
    with tempfile.TemporaryDirectory(prefix="bedmatch-cbc-") as temporary:
        return maximise_from(
            model, objective, start, time_limit_s, Path(temporary), executable, stop
        )


def maximise_from(
    model: SparseModel,
    objective: np.ndarray,
    start: np.ndarray,
    time_limit_s: float,
    folder: Path,
    executable: str,
    stop: threading.Event | None = None,
) -> MipOutcome:
    """Maximise ``objective @ x`` over the integer points of `model` with CBC, starting from
    the feasible point `start`; the files, and CBC's log (``cbc.log``), go to `folder`.
    Setting `stop` kills the program."""
    started = time.perf_counter()
    problem, mip_start, solution = folder / "stage.mps", folder / "start.sol", folder / "out.sol"
    # CBC is given the negated objective to minimise, not ``-max``: under ``-max`` it costs
    # the MIP start with the objective's sign unflipped, so a start of 224 placements became
    # an incumbent of +224 to minimise, worse than any solution, and cut off nothing (what
    # that cost is measured in the module's notes).
    write_mps(model, -objective, problem)
    write_start(start, mip_start)
    remaining = max(time_limit_s - (time.perf_counter() - started), 0.1)
    command = [
        executable,
        str(problem),
        "-mips",
        str(mip_start),
        "-timeMode",
        "elapsed",
        "-sec",
        f"{remaining:.2f}",
        "-solve",
        "-solution",
        str(solution),
    ]
    log = _run(command, stop)
    (folder / "cbc.log").write_text(log)
    seconds = time.perf_counter() - started
    status, values = read_solution(solution, model.n_vars) if solution.exists() else ("", None)
    bound = _bound_from_log(log)
    start_value = int(objective @ start)
    if values is None or not model.feasible(values):
        # CBC may fail to carry the start through its preprocessing ("mipstart values could
        # not be used to build a solution") and then find nothing in time; the start is
        # still a solution.
        return MipOutcome(start.copy(), max(bound, start_value), False, seconds)
    found = int(objective @ values)
    if found < start_value:
        # An answer below the start it was given is wrong, and so is its bound: CBC 2.10's
        # preprocessing has called 1 optimal on a 4-variable model whose start scores 2
        # (`-preprocess off` gives 2). Only the start is kept, with no bound from this run.
        return MipOutcome(start.copy(), UNBOUNDED, False, seconds)
    if status == "Optimal":
        return MipOutcome(values, found, True, seconds)
    return MipOutcome(values, max(bound, found), False, seconds)


def _run(command: list[str], stop: threading.Event | None) -> str:
    """The program's output; killed as soon as `stop` is set."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    while True:
        try:
            out, _ = process.communicate(timeout=STOP_POLL_SECONDS if stop else None)
            return out
        except subprocess.TimeoutExpired:
            if stop is not None and stop.is_set():
                process.kill()
                out, _ = process.communicate()
                return out


STOP_POLL_SECONDS = 0.05


def write_mps(model: SparseModel, objective: np.ndarray, path: Path) -> None:
    """`model` as a free-format MPS file: variables x0.., rows c0.., every variable integer."""
    lo, hi = model.lo, model.hi
    no_lo, no_hi = lo <= -UNBOUNDED, hi >= UNBOUNDED
    kinds = np.where(no_hi & no_lo, "N", np.where(no_lo, "L", np.where(no_hi, "G", "E")))
    kinds = np.where(~no_lo & ~no_hi & (lo != hi), "L", kinds)
    lines = ["NAME stage", "ROWS", " N obj"]
    lines += [f" {k} c{i}" for i, k in enumerate(kinds.tolist())]
    lines += ["COLUMNS", "    M1 'MARKER' 'INTORG'"]
    order, first = model.entries_by_column()
    rows = model.row_of_entry()[order].tolist()
    coefs = model.coef[order].tolist()
    weights = objective.tolist()
    firsts = first.tolist()
    for j in range(model.n_vars):
        if weights[j] or firsts[j] == firsts[j + 1]:  # every column must be named here
            lines.append(f"    x{j} obj {weights[j]}")
        lines += [f"    x{j} c{rows[p]} {coefs[p]}" for p in range(firsts[j], firsts[j + 1])]
    lines += ["    M2 'MARKER' 'INTEND'", "RHS"]
    rhs = np.where(kinds == "G", lo, hi)
    lines += [
        f"    rhs c{i} {rhs[i]}" for i in np.flatnonzero((kinds != "N") & (rhs != 0)).tolist()
    ]
    ranged = np.flatnonzero(~no_lo & ~no_hi & (lo != hi))
    if ranged.size:
        lines.append("RANGES")
        lines += [f"    rng c{i} {hi[i] - lo[i]}" for i in ranged.tolist()]
    lines.append("BOUNDS")
    for j, (low, high) in enumerate(zip(model.lower.tolist(), model.upper.tolist(), strict=True)):
        lines.append(f" PL bnd x{j}" if high >= UNBOUNDED else f" UP bnd x{j} {high}")
        lines.append(f" MI bnd x{j}" if low <= -UNBOUNDED else f" LO bnd x{j} {low}")
    lines.append("ENDATA")
    path.write_text("\n".join(lines) + "\n")


def write_start(values: np.ndarray, path: Path) -> None:
    """A point in CBC's solution format, which it reads as a MIP start."""
    lines = ["Stopped on time - objective value 0"]
    lines += [f"{j} x{j} {v} 0" for j, v in enumerate(values.tolist())]
    path.write_text("\n".join(lines) + "\n")


def read_solution(path: Path, n_vars: int) -> tuple[str, np.ndarray | None]:
    """CBC's status word ("Optimal", "Stopped", "Infeasible", ...) and its point, if any."""
    text = path.read_text().splitlines()
    status = text[0].split()[0] if text else ""
    if status == "Infeasible" or not text:
        return status, None
    values = np.zeros(n_vars, dtype=np.int64)
    for line in text[1:]:
        fields = line.split()
        if fields and fields[0] == "**":  # CBC marks values off their bounds
            fields = fields[1:]
        if len(fields) >= 3 and fields[1].startswith("x"):
            values[int(fields[1][1:])] = round(float(fields[2]))
    return status, values


# "Partial search - best objective -396 (best possible -398.5), took ..." (CBC minimises the
# negated objective, so a bound on the maximum is the negated "best possible").
_BEST_POSSIBLE = re.compile(r"best possible (-?[0-9.eE+]+)")


def _bound_from_log(log: str) -> int:
    found = _BEST_POSSIBLE.findall(log)
    if not found:
        return UNBOUNDED
    bound = -float(found[-1])
    if not np.isfinite(bound) or abs(bound) >= 1e15:  # CBC's "no bound yet"
        return UNBOUNDED
    return int(np.floor(bound + 1e-6))
