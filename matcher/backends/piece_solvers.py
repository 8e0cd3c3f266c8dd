"""A piece of a stage (a sub-model) maximised by CP-SAT or by CBC, each answer one
`PieceOutcome`: its status, values, proven bound and time; and a whole model maximised by
CP-SAT for the cohort floors."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from matcher.backends import cbc_command
from matcher.backends.piece_outcome import PieceOutcome
from matcher.backends.settings import SolverSettings
from matcher.backends.stage_terms import stage_objective
from matcher.backends.submodel import UNBOUNDED, SparseModel

INT_MAX = 2**62


class _StopAt:
    """Stop the search once a solution reaches a known bound."""

    def __new__(cls, target: int) -> Any:
        from ortools.sat.python import cp_model

        class Callback(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                if self.objective_value >= target - 1e-6:
                    self.stop_search()

        return Callback()


def cpsat_maximise(
    settings: SolverSettings,
    model: SparseModel,
    coefs: np.ndarray,
    free: np.ndarray,
    hint: np.ndarray,
    time_limit_s: float,
    target: int | None,
    gap: float,
    workers: int | None = None,
    stop: threading.Event | None = None,
) -> PieceOutcome:
    """Maximise ``coefs`` (over the full model's pairs) on a sub-model of free variables;
    setting `stop` ends the search early (with the best solution so far)."""
    from ortools.sat.python import cp_model

    cp = cp_model.CpModel()
    proto = cp.proto
    for lo, hi in zip(model.lower.tolist(), model.upper.tolist(), strict=True):
        proto.variables.add().domain.extend([lo, hi])
    cols, coef_list = model.col.tolist(), model.coef.tolist()
    starts = model.start.tolist()
    for i, (lo, hi) in enumerate(zip(model.lo.tolist(), model.hi.tolist(), strict=True)):
        ct = proto.constraints.add().linear
        s, e = starts[i], starts[i + 1]
        ct.vars.extend(cols[s:e])
        ct.coeffs.extend(coef_list[s:e])
        ct.domain.extend([max(lo, -INT_MAX), min(hi, INT_MAX)])
    objective = stage_objective(coefs, free)
    nz = np.flatnonzero(objective)
    proto.objective.vars.extend(nz.tolist())
    proto.objective.coeffs.extend((-objective[nz]).tolist())
    proto.objective.scaling_factor = -1.0
    proto.solution_hint.vars.extend(range(len(free)))
    proto.solution_hint.values.extend(hint.tolist())
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.01)
    solver.parameters.num_workers = workers or settings.num_workers
    solver.parameters.log_search_progress = settings.log
    solver.parameters.random_seed = settings.seed
    for key, setting in settings.parameters.items():
        setattr(solver.parameters, key, setting)
    if gap > 0:
        solver.parameters.relative_gap_limit = gap
    started = time.perf_counter()
    done = threading.Event()
    if stop is not None:
        threading.Thread(
            target=_stop_search_when,
            args=(stop, done, solver, settings.race_poll_seconds),
        ).start()
    try:
        status = solver.solve(cp, _StopAt(target) if target is not None else None)
    finally:
        done.set()
    seconds = time.perf_counter() - started
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return PieceOutcome(name, None, UNBOUNDED, seconds)
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    return PieceOutcome(name, values, int(np.floor(solver.best_objective_bound + 1e-6)), seconds)


def _stop_search_when(
    stop: threading.Event, done: threading.Event, solver: Any, poll_seconds: float
) -> None:
    """Stop `solver`'s search once `stop` is set, until `done` (asked again each poll: a
    stop asked before the search has begun may not take)."""
    while not done.wait(poll_seconds):
        if stop.is_set():
            solver.stop_search()


def cbc_maximise(
    model: SparseModel,
    coefs: np.ndarray,
    free: np.ndarray,
    time_limit_s: float,
    start: np.ndarray | None = None,
    stop: threading.Event | None = None,
) -> PieceOutcome:
    """A band stage's sub-model maximised by CBC: its proven bound, and its solution if any
    (the caller keeps the better of it and the incumbent). Given a feasible `start`, the
    CBC program begins from it where it runs here: a piece whose CBC found no solution in
    the time left (tight caseloads, band 1, 4,171 variables) still gives the start back."""
    out = cbc_command.prove(model, stage_objective(coefs, free), time_limit_s, start, stop=stop)
    status = "OPTIMAL" if out.optimal else ("FEASIBLE" if out.values is not None else "UNKNOWN")
    return PieceOutcome(status, out.values, out.bound, out.seconds)


def cpsat_maximise_model(
    model: SparseModel,
    objective: np.ndarray,
    start: np.ndarray,
    time_limit_s: float,
    gap: float,
    stop_at: int | None = None,
    num_workers: int = 8,
) -> tuple[np.ndarray | None, int, bool]:
    """(values or None, proven bound, proven optimal) of one integer program in CP-SAT, over
    the whole `model` (the cohort floors' `Maximiser`); the search stops early once the
    objective reaches `stop_at`."""
    from ortools.sat.python import cp_model

    cp = cp_model.CpModel()
    proto = cp.proto
    for lo, hi in zip(model.lower.tolist(), model.upper.tolist(), strict=True):
        proto.variables.add().domain.extend([lo, hi])
    cols, coefs, starts = model.col.tolist(), model.coef.tolist(), model.start.tolist()
    for i, (lo, hi) in enumerate(zip(model.lo.tolist(), model.hi.tolist(), strict=True)):
        ct = proto.constraints.add().linear
        ct.vars.extend(cols[starts[i] : starts[i + 1]])
        ct.coeffs.extend(coefs[starts[i] : starts[i + 1]])
        ct.domain.extend([max(lo, -INT_MAX), min(hi, INT_MAX)])
    nz = np.flatnonzero(objective)
    proto.objective.vars.extend(nz.tolist())
    proto.objective.coeffs.extend((-objective[nz]).tolist())
    proto.objective.scaling_factor = -1.0
    proto.solution_hint.vars.extend(range(model.n_vars))
    proto.solution_hint.values.extend(start.tolist())
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.01)
    solver.parameters.num_workers = num_workers
    if gap > 0:
        solver.parameters.relative_gap_limit = gap
    callback = None
    if stop_at is not None:
        enough = float(stop_at) - 1e-6

        class _Enough(cp_model.CpSolverSolutionCallback):  # type: ignore[misc]
            def on_solution_callback(self) -> None:
                if self.objective_value >= enough:
                    self.stop_search()

        callback = _Enough()
    status = solver.solve(cp, callback)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        bound = UNBOUNDED if status != cp_model.INFEASIBLE else -1
        return None, bound, status == cp_model.INFEASIBLE
    values = np.asarray(solver.response_proto.solution, dtype=np.int64)
    bound = int(np.floor(solver.best_objective_bound + 1e-6))
    return values, bound, status == cp_model.OPTIMAL
