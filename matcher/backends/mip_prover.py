"""A band stage proved by branch-and-cut: CBC, in process, through OR-Tools' MPModelRequest.

CP-SAT finds good allocations fast but its bound stalls above the optimum on the band
stages, where the gap is closed only by cutting planes (knapsack covers on the support-hour
rows and the like). CBC's cut loop closes it. Measured on `generate(1501, 1500, 3000)`
(bands 5 and 4 held at 159 and 180, 2 shared cores):

- band 3 (66,532 variables, 8,115 rows; LP bound 268, optimum 266): CBC proves 266 in
  6.5 s from a cold start; CP-SAT (8 workers) still had bound 268 after 39 s; SCIP (also
  bundled with OR-Tools) took 34 s, HiGHS (bundled) had no solution after 60 s;
- band 2 (97,026 variables; LP 239.4, optimum 237): CBC 10.6 s;
- band 1 (153,179 variables; LP 399.7, optimum 396): CBC 77 s.
- Asking CBC instead whether the stage can beat the incumbent (a row "count ≥ incumbent + 1")
  took longer (band 3 17 s, band 2 55 s) than letting it maximise.
- PuLP's CBC (command line, model written as a file) took 11.7 s on band 3; the request here
  is built from the CSR arrays directly, in about 0.3 s.

The model is the same `SparseModel` (a stage's sub-model) CP-SAT reads, so a CBC answer is a
solution of the very same integers; it is re-checked against every row before it is used.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def maximise(model: SparseModel, objective: np.ndarray, time_limit_s: float) -> MipOutcome:
    """Maximise ``objective @ x`` over the integer points of `model` with CBC."""
    import time

    from ortools.linear_solver import linear_solver_pb2, pywraplp

    started = time.perf_counter()
    request = linear_solver_pb2.MPModelRequest()
    request.solver_type = linear_solver_pb2.MPModelRequest.CBC_MIXED_INTEGER_PROGRAMMING
    proto = request.model
    proto.maximize = True
    objective_list = objective.tolist()
    for lo, hi, weight in zip(
        model.lower.tolist(), model.upper.tolist(), objective_list, strict=True
    ):
        var = proto.variable.add()
        var.lower_bound, var.upper_bound = lo, hi
        var.objective_coefficient = weight
        var.is_integer = True
    cols, coefs, starts = model.col.tolist(), model.coef.tolist(), model.start.tolist()
    for i, (lo, hi) in enumerate(zip(model.lo.tolist(), model.hi.tolist(), strict=True)):
        row = proto.constraint.add()
        s, e = starts[i], starts[i + 1]
        row.var_index.extend(cols[s:e])
        row.coefficient.extend(coefs[s:e])
        row.lower_bound = -np.inf if lo <= -UNBOUNDED else lo
        row.upper_bound = np.inf if hi >= UNBOUNDED else hi
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
    if (
        model.violated_rows(values).size
        or np.any(values < model.lower)
        or np.any(values > model.upper)
    ):
        # Rounding a solution within the solver's tolerances broke a row: keep only the bound.
        return MipOutcome(None, bound, False, seconds)
    optimal = response.status == status.MPSOLVER_OPTIMAL
    if optimal:
        bound = int(objective @ values)
    return MipOutcome(values, bound, optimal, seconds)
