"""A band stage proved by branch-and-cut: CBC, in process, through OR-Tools' MPModelRequest.

CP-SAT's bound stalls above the optimum on the band stages, where only cutting planes and
CBC's preprocessing (probing, row strengthening) close the gap. `relax` solves a stage's LP
relaxation with GLOP: its optimum rounded down is a proven ceiling and its support guides the
search. The model is the same `SparseModel` CP-SAT reads, and a CBC answer is re-checked
against every row. The solvers compared and their times are in `benchmarks/NOTES.md`
("Batch solver").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.backends.submodel import UNBOUNDED, SparseModel


@dataclass(frozen=True)
class MipOutcome:
    """What one branch-and-cut run gave: values (None without a solution), a proven bound
    on the objective, and whether it proved its solution optimal."""

    values: np.ndarray | None
    bound: int
    optimal: bool
    seconds: float


def available() -> bool:
    """Whether OR-Tools here carries CBC."""
    try:
        from ortools.linear_solver import pywraplp
    except ImportError:
        return False
    return pywraplp.Solver.CreateSolver("CBC") is not None


def _request(model: SparseModel, objective: np.ndarray, integer: bool) -> Any:
    """The MPModelRequest for ``max objective @ x`` over `model` (CBC, or GLOP for the LP)."""
    from ortools.linear_solver import linear_solver_pb2

    request = linear_solver_pb2.MPModelRequest()
    kinds = linear_solver_pb2.MPModelRequest
    request.solver_type = (
        kinds.CBC_MIXED_INTEGER_PROGRAMMING if integer else kinds.GLOP_LINEAR_PROGRAMMING
    )
    proto = request.model
    proto.maximize = True
    objective_list = objective.tolist()
    for lo, hi, weight in zip(
        model.lower.tolist(), model.upper.tolist(), objective_list, strict=True
    ):
        var = proto.variable.add()
        var.lower_bound, var.upper_bound = lo, hi
        var.objective_coefficient = weight
        var.is_integer = integer
    starts = model.start.tolist()
    lows, highs = model.lo.tolist(), model.hi.tolist()
    # Rows in chunks: Python lists of every entry at once cost about 70 bytes an entry
    # (3.3 million entries on the large band-3 stage) beside the request itself.
    for first in range(0, model.n_rows, ROW_CHUNK):
        last = min(first + ROW_CHUNK, model.n_rows)
        offset = starts[first]
        cols = model.col[offset : starts[last]].tolist()
        coefs = model.coef[offset : starts[last]].tolist()
        for i in range(first, last):
            row = proto.constraint.add()
            s, e = starts[i] - offset, starts[i + 1] - offset
            row.var_index.extend(cols[s:e])
            row.coefficient.extend(coefs[s:e])
            lo, hi = lows[i], highs[i]
            row.lower_bound = -np.inf if lo <= -UNBOUNDED else lo
            row.upper_bound = np.inf if hi >= UNBOUNDED else hi
    return request


ROW_CHUNK = 2_000


@dataclass(frozen=True)
class LpOutcome:
    """The LP relaxation of a stage: its optimum (None if not solved in time), the primal
    point, the reduced costs and the row prices."""

    value: float | None
    values: np.ndarray | None
    reduced_costs: np.ndarray | None
    seconds: float
    prices: np.ndarray | None = None

    @property
    def bound(self) -> int | None:
        """The proven integer bound: no integer point beats the LP optimum rounded down.
        The tolerance only absorbs GLOP's rounding of an integral optimum (268 as 267.9999)."""
        if self.value is None:
            return None
        return int(np.floor(self.value + 1e-6))


def _solve_lp(
    model: SparseModel, objective: np.ndarray, time_limit_s: float
) -> tuple[Any, bool, float]:
    """GLOP on the LP relaxation: the response, whether it is optimal, and the seconds
    taken (building the request included)."""
    import time

    from ortools.linear_solver import linear_solver_pb2, pywraplp

    started = time.perf_counter()
    request = _request(model, objective, integer=False)
    request.solver_time_limit_seconds = max(time_limit_s - (time.perf_counter() - started), 0.05)
    response = linear_solver_pb2.MPSolutionResponse()
    pywraplp.Solver.SolveWithProto(request, response)
    optimal = response.status == linear_solver_pb2.MPSolverResponseStatus.MPSOLVER_OPTIMAL
    return response, optimal, time.perf_counter() - started


def relax(model: SparseModel, objective: np.ndarray, time_limit_s: float) -> LpOutcome:
    """Maximise ``objective @ x`` over the LP relaxation of `model` (GLOP, primal simplex)."""
    response, optimal, seconds = _solve_lp(model, objective, time_limit_s)
    if not optimal:
        return LpOutcome(None, None, None, seconds)
    return LpOutcome(
        float(response.objective_value),
        np.asarray(response.variable_value),
        np.asarray(response.reduced_cost),
        seconds,
        np.asarray(response.dual_value),
    )


def maximise(model: SparseModel, objective: np.ndarray, time_limit_s: float) -> MipOutcome:
    """Maximise ``objective @ x`` over the integer points of `model` with CBC."""
    import time

    from ortools.linear_solver import linear_solver_pb2, pywraplp

    started = time.perf_counter()
    request = _request(model, objective, integer=True)
    building = time.perf_counter() - started
    request.solver_time_limit_seconds = max(time_limit_s - building, 0.05)
    response = linear_solver_pb2.MPSolutionResponse()
    pywraplp.Solver.SolveWithProto(request, response)
    seconds = time.perf_counter() - started
    status = linear_solver_pb2.MPSolverResponseStatus
    has_solution = response.status in (status.MPSOLVER_OPTIMAL, status.MPSOLVER_FEASIBLE)
    bound = UNBOUNDED
    if has_solution and np.isfinite(response.best_objective_bound):
        bound = int(np.floor(response.best_objective_bound + 1e-6))
    if not has_solution or len(response.variable_value) != model.n_vars:
        return MipOutcome(None, bound, False, seconds)
    values = np.rint(np.asarray(response.variable_value)).astype(np.int64)
    if not model.feasible(values):
        # Rounding a solution within the solver's tolerances broke a row: keep only the bound.
        return MipOutcome(None, bound, False, seconds)
    optimal = response.status == status.MPSOLVER_OPTIMAL
    if optimal:
        bound = int(objective @ values)
    return MipOutcome(values, bound, optimal, seconds)
