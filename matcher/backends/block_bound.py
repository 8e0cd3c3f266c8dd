"""A stage's LP bound tightened unit by unit: the rows of one unit kept whole as an integer
program, the rows that link units priced (Lagrangian relaxation).

Most rows belong to one unit (its bed-spaces, support hours, high-risk room, gender and
risk-to-women rows, the couples in it); the rest link units. For prices ``y`` on the linking
rows and ``d = c - A_link' y``, every integer point ``x`` has

    c x <= sum_link max(y lo, y hi) + sum_{j in no unit} max(d_j lower_j, d_j upper_j)
           + sum_units max{d x_u : x_u integer, within the unit's own rows}

With the LP's prices and each unit's LP bound this is the LP bound again; solving a unit as
the integer program it is can only lower it. Units with a fractional LP bound go first. Any
prices give a valid bound and each unit contributes its proven dual bound (with a margin), so
stopping anywhere is safe. What it proves on the large instance is in `benchmarks/NOTES.md`
("Batch solver").
"""

from __future__ import annotations

import datetime
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.backends.classes import Instance
from matcher.backends.priced_lp import lagrangian_terms
from matcher.backends.reduced_model import ModelLayout
from matcher.backends.settings import DEFAULT_SETTINGS, SolverSettings
from matcher.backends.submodel import UNBOUNDED, SparseModel

# A unit's fractional LP bound or fractional point below this is rounding, not a fraction.
FRACTION = 1e-6
# A unit's proven dual bound is raised by this much per unit of its objective's size
# (SCIP's LP solves work to about 1e-9 relative; the bound stays a bound).
MARGIN = 1e-7


@dataclass(frozen=True)
class BlockBound:
    """`bound`: a proven upper bound on the stage; `units_solved` integer programs solved,
    `units_tightened` of them below their unit's LP bound."""

    bound: float
    units_solved: int
    units_tightened: int
    seconds: float

    @property
    def integer_bound(self) -> int:
        """No integer point beats the bound rounded down (the tolerance absorbs rounding)."""
        return int(np.floor(self.bound + 1e-6))


def unit_of_variable(inst: Instance, layout: ModelLayout) -> np.ndarray:
    """Each model variable's unit; -1 for one no single unit owns (support-team counts, the
    gender of a cluster that spans units)."""
    unit = np.full(layout.model.n_vars, -1, dtype=np.int64)
    unit[: layout.n_pairs] = inst.pair_unit
    for (group, _), var in layout.f_index.items():
        unit[var] = inst.groups[group].unit
    units_of_cluster: dict[int, set[int]] = {}
    for cls in inst.classes:
        units_of_cluster.setdefault(cls.cluster, set()).add(cls.unit)
    for cluster, var in layout.g_index.items():
        owners = units_of_cluster.get(cluster, set())
        if len(owners) == 1:
            unit[var] = next(iter(owners))
    for u, var in layout.h_index.items():
        unit[var] = u
    return unit


def block_bound(
    model: SparseModel,
    lower: np.ndarray,
    upper: np.ndarray,
    objective: np.ndarray,
    prices: np.ndarray,
    unit: np.ndarray,
    time_limit_s: float,
    point: np.ndarray | None = None,
    enough: int | None = None,
    settings: SolverSettings = DEFAULT_SETTINGS,
) -> BlockBound | None:
    """An upper bound on ``max objective @ x`` over the integer points of `model` with
    variable bounds `lower`/`upper`, from row `prices` (the LP relaxation's, for a bound
    that starts at the LP's) and each variable's `unit` (see `unit_of_variable`). Units are
    solved as integer programs in `time_limit_s` at most, and no more once the bound rounds
    down to `enough` (the best count found: nothing lower can be proven). `point`, the LP's
    optimum, tells which units it uses fractionally. None if no integer solver is at hand."""
    started = time.perf_counter()
    stop_at = started + time_limit_s
    solver = _integer_solver()
    if solver is None:
        return None
    rows = model.row_of_entry()
    terms = lagrangian_terms(
        model,
        np.asarray(lower, dtype=float),
        np.asarray(upper, dtype=float),
        np.asarray(objective, dtype=float),
        prices,
        row_of_entry=rows,
    )
    local, row_unit = _row_units(model, rows, unit)
    row_terms, column_terms = terms.row_terms, terms.column_terms
    n_units = int(unit.max()) + 1 if unit.size else 0
    owned = unit >= 0
    # Each unit's LP bound with its own rows priced too: together with the linking terms
    # this is the Lagrangian bound of the LP's prices.
    unit_bound = np.bincount(
        unit[owned], weights=column_terms[owned], minlength=n_units
    ) + np.bincount(row_unit[local], weights=row_terms[local], minlength=n_units)
    linking = float(row_terms[~local].sum() + column_terms[~owned].sum())
    # A unit's integer program prices only the linking rows.
    local_entry = local[rows]
    linked = terms.reduced + np.bincount(
        model.col[local_entry],
        weights=model.coef[local_entry] * terms.prices[rows[local_entry]],
        minlength=model.n_vars,
    )

    def total() -> float:
        return linking + float(unit_bound.sum()) + terms.slack

    order = _candidates(unit_bound, unit, point)
    variables_of = _members(unit, n_units)
    rows_of = _members(row_unit, n_units)
    solved = tightened = 0
    for u in order:
        if enough is not None and np.floor(total() + 1e-6) <= enough:
            break
        remaining = stop_at - time.perf_counter()
        if remaining < 0.05:
            break
        best = _unit_maximum(
            model,
            variables_of(u),
            rows_of(u),
            lower,
            upper,
            linked,
            min(remaining, settings.unit_seconds),
            solver,
        )
        solved += 1
        if best is not None and best < unit_bound[u]:
            unit_bound[u] = best
            tightened += 1
    return BlockBound(total(), solved, tightened, time.perf_counter() - started)


def _row_units(
    model: SparseModel, rows: np.ndarray, unit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows lie within one unit (all their variables that unit's), and each row's
    unit (-1 for a row linking units or touching no unit's variable); `rows` is each
    entry's row."""
    entry_unit = unit[model.col]
    first = np.full(model.n_rows, np.iinfo(np.int64).max, dtype=np.int64)
    last = np.full(model.n_rows, -2, dtype=np.int64)
    np.minimum.at(first, rows, entry_unit)
    np.maximum.at(last, rows, entry_unit)
    local = (first == last) & (first >= 0)
    return local, np.where(local, first, -1)


def _candidates(unit_bound: np.ndarray, unit: np.ndarray, point: np.ndarray | None) -> list[int]:
    """Units with a fractional LP bound, largest fraction first; then those the LP's point
    uses fractionally, most fractional variables first."""
    fraction = unit_bound - np.floor(unit_bound + FRACTION)
    first = np.flatnonzero(fraction > FRACTION)
    first = first[np.argsort(-fraction[first], kind="stable")]
    order = first.tolist()
    if point is not None:
        off = np.abs(point - np.rint(point)) > FRACTION
        count = np.bincount(unit[off & (unit >= 0)], minlength=unit_bound.size)
        count[first] = 0
        then = np.flatnonzero(count)
        order += then[np.argsort(-count[then], kind="stable")].tolist()
    return order


def _members(owner: np.ndarray, n: int) -> Callable[[int], np.ndarray]:
    """A lookup of the indices each owner (>= 0) holds."""
    order = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[order], np.arange(-1, n + 1))

    def of(u: int) -> np.ndarray:
        return order[bounds[u + 1] : bounds[u + 2]]

    return of


@functools.cache
def _integer_solver() -> Any:
    """SCIP as OR-Tools ships it (through MathOpt), or None where the build lacks it (asked
    once: the answer holds for the process)."""
    try:
        from ortools.math_opt.python import mathopt

        solver = mathopt.SolverType.GSCIP
        probe = mathopt.Model()
        probe.maximize(probe.add_binary_variable())
        mathopt.solve(probe, solver)
    except Exception:  # noqa: BLE001 - any failure means: no integer solver here
        return None
    return solver


def _unit_maximum(
    model: SparseModel,
    variables: np.ndarray,
    unit_rows: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    objective: np.ndarray,
    time_limit_s: float,
    solver: Any,
) -> float | None:
    """A proven upper bound on ``max objective @ x`` over the integer points of one unit's
    rows (None if the solver gave none)."""
    from ortools.math_opt import model_pb2
    from ortools.math_opt.python import mathopt

    position = {int(v): i for i, v in enumerate(variables)}
    proto = model_pb2.ModelProto()
    proto.variables.ids.extend(range(variables.size))
    proto.variables.lower_bounds.extend(lower[variables].tolist())
    proto.variables.upper_bounds.extend(upper[variables].tolist())
    proto.variables.integers.extend([True] * variables.size)
    proto.objective.maximize = True
    weighted = np.flatnonzero(objective[variables])
    proto.objective.linear_coefficients.ids.extend(weighted.tolist())
    proto.objective.linear_coefficients.values.extend(objective[variables[weighted]].tolist())
    proto.linear_constraints.ids.extend(range(unit_rows.size))
    lo = model.lo[unit_rows].astype(float)
    hi = model.hi[unit_rows].astype(float)
    lo[model.lo[unit_rows] <= -UNBOUNDED] = -np.inf
    hi[model.hi[unit_rows] >= UNBOUNDED] = np.inf
    proto.linear_constraints.lower_bounds.extend(lo.tolist())
    proto.linear_constraints.upper_bounds.extend(hi.tolist())
    matrix = proto.linear_constraint_matrix
    for i, r in enumerate(unit_rows.tolist()):
        entries = np.arange(model.start[r], model.start[r + 1])
        columns = [position[int(j)] for j in model.col[entries]]
        ordered = np.argsort(columns, kind="stable")
        matrix.row_ids.extend([i] * len(columns))
        matrix.column_ids.extend(np.asarray(columns)[ordered].tolist())
        matrix.coefficients.extend(model.coef[entries][ordered].astype(float).tolist())
    params = mathopt.SolveParameters(
        time_limit=datetime.timedelta(seconds=max(time_limit_s, 0.05)),
        relative_gap_tolerance=0.0,
        absolute_gap_tolerance=1e-9,
    )
    result = mathopt.solve(mathopt.Model.from_model_proto(proto), solver, params=params)
    bound = result.termination.objective_bounds.dual_bound
    if not np.isfinite(bound):
        return None
    size = float(np.abs(objective[variables]) @ np.maximum(np.abs(lower), np.abs(upper))[variables])
    return float(bound) + MARGIN * (1.0 + size)
