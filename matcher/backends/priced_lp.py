"""A stage's LP relaxation solved over a few of its columns and proven over all of them.

A large stage's LP is too slow and too big for GLOP whole, but its optimum uses few columns.
The LP is solved over a restricted set (every count variable, the incumbent's pairs, each
referral's best-scoring pairs), and its row prices ``y`` bound every column at once
(Lagrangian duality): with ``d = c - A'y``, every point of ``lo <= A x <= hi, lower <= x <=
upper`` has

    c x <= sum_i max(y_i lo_i, y_i hi_i) + sum_j max(d_j lower_j, d_j upper_j)

(a row open on the side its price would use gets price 0). Columns with ``d_j > 0`` join and
the LP is solved again until none is left or time runs out; every bound on the way is valid,
so stopping anywhere is safe. The rounds' figures are in `benchmarks/NOTES.md` ("Batch solver").
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from matcher.backends.settings import DEFAULT_SETTINGS, SolverSettings
from matcher.backends.submodel import UNBOUNDED, SparseModel

# A reduced cost above this prices a column in (GLOP's own tolerances are about 1e-7).
PRICE_TOLERANCE = 1e-7
# A bound this close to the restricted optimum ends the pricing (the bound reported is the
# bound, never the restricted optimum).
CONVERGED = 1e-4


@dataclass(frozen=True)
class PricedLp:
    """`bound`: a proven upper bound on the stage's LP (None if no round finished);
    `support`: the columns any round's restricted optimum used (None if no round reached
    one); `reduced`: every column's reduced cost at the prices of the best bound, `prices`
    those row prices; `point`: the last restricted optimum; `rounds` (`warm_rounds` of them
    from the last basis) and `columns`: the work done."""

    bound: float | None
    support: np.ndarray | None
    reduced: np.ndarray | None
    rounds: int
    warm_rounds: int
    columns: int
    seconds: float
    prices: np.ndarray | None = None
    point: np.ndarray | None = None

    @property
    def integer_bound(self) -> int | None:
        """No integer point beats the bound rounded down (the tolerance absorbs rounding)."""
        return None if self.bound is None else int(np.floor(self.bound + 1e-6))


@dataclass(frozen=True)
class LagrangianTerms:
    """What row `prices` (a row open on the side its price would use priced 0) say of
    ``max objective @ x`` over a model's rows and variable bounds: each row's term
    ``max(y lo, y hi)``, each column's ``max(d lower, d upper)`` with the reduced costs
    ``d = objective - A'y``; their sum, raised by `slack`, is an upper bound."""

    prices: np.ndarray
    row_terms: np.ndarray
    reduced: np.ndarray
    column_terms: np.ndarray

    @property
    def slack(self) -> float:
        """Floating-point sums of large terms may cancel: the bound is raised by more than
        their possible rounding error, so that it stays a bound."""
        return 1e-9 * float(np.abs(self.row_terms).sum() + np.abs(self.column_terms).sum() + 1.0)

    @property
    def bound(self) -> float:
        return float(self.row_terms.sum() + self.column_terms.sum()) + self.slack


def lagrangian_terms(
    model: SparseModel,
    lower: np.ndarray,
    upper: np.ndarray,
    objective: np.ndarray,
    prices: np.ndarray,
    row_of_entry: np.ndarray | None = None,
) -> LagrangianTerms:
    """The terms of the bound that any row `prices` give (see `LagrangianTerms`).
    `row_of_entry` is `model.row_of_entry()`, if the caller holds it already."""
    y = np.array(prices, dtype=float)
    y[(y > 0) & (model.hi >= UNBOUNDED)] = 0.0  # no upper side to price
    y[(y < 0) & (model.lo <= -UNBOUNDED)] = 0.0  # no lower side
    row_terms = np.where(y > 0, y * model.hi, 0.0) + np.where(y < 0, y * model.lo, 0.0)
    rows = model.row_of_entry() if row_of_entry is None else row_of_entry
    reduced = objective - column_sums(model, y, rows)
    column_terms = np.maximum(reduced * lower, reduced * upper)
    return LagrangianTerms(y, row_terms, reduced, column_terms)


# Entries summed at a time by `column_sums`: two float arrays over every entry of a city's
# model at once are 216 MiB.
COLUMN_SUM_CHUNK = 1 << 20


def column_sums(model: SparseModel, prices: np.ndarray, row_of_entry: np.ndarray) -> np.ndarray:
    """``A'y``: each column's entries times their rows' `prices`, summed. The entries are added
    a chunk at a time, in their order, as one `np.bincount` over them all would add them, so
    the sums are the same to the last bit."""
    sums = np.zeros(model.n_vars)
    for first in range(0, len(model.col), COLUMN_SUM_CHUNK):
        chunk = slice(first, first + COLUMN_SUM_CHUNK)
        np.add.at(sums, model.col[chunk], model.coef[chunk] * prices[row_of_entry[chunk]])
    return sums


def priced_lp(
    full: SparseModel,
    free: np.ndarray,
    objective: np.ndarray,
    start: np.ndarray,
    time_limit_s: float,
    dual_simplex: bool = False,
    settings: SolverSettings = DEFAULT_SETTINGS,
) -> PricedLp:
    """Maximise ``objective @ x`` over the LP relaxation of `full` with the variables off
    `free` at 0, starting from the columns `start` (a bool mask within `free`: it must hold a
    feasible point, e.g. the incumbent's columns and every count variable). `dual_simplex`
    solves the fresh rounds with GLOP's dual simplex (see `RestrictedLp`); `settings` say how
    many columns a round adds."""
    started = time.perf_counter()
    stop_at = started + time_limit_s
    lower = np.where(free, full.lower, 0).astype(float)
    upper = np.where(free, full.upper, 0).astype(float)
    c = np.asarray(objective, dtype=float)
    chosen = np.asarray(start, dtype=bool) & free
    movable = free & (upper > lower)  # a column held at a bound has nothing to give
    restricted = RestrictedLp(full, lower, upper, c, dual_simplex)
    new = np.flatnonzero(chosen)
    best: float | None = None
    support: np.ndarray | None = None
    best_reduced: np.ndarray | None = None
    best_prices: np.ndarray | None = None
    point: np.ndarray | None = None
    rounds = warm_rounds = 0
    while True:
        remaining = stop_at - time.perf_counter()
        if remaining < 0.05:
            break
        warm = restricted.can_warm_start and new.size <= settings.warm_start_most
        if warm:
            restricted.add(new)
        else:
            restricted.load(chosen)
        lp = restricted.solve(remaining, warm)
        rounds += 1
        warm_rounds += warm
        if lp is None:
            break
        terms = lagrangian_terms(
            full, lower, upper, c, lp.prices, row_of_entry=restricted.row_of_entry
        )
        bound, reduced = terms.bound, terms.reduced
        if best is None or bound < best:
            best, best_reduced, best_prices = bound, reduced, lp.prices
        if lp.value is not None and lp.values is not None:
            point = lp.values
            used = lp.values > 1e-6
            support = used if support is None else support | used
            if best <= lp.value + CONVERGED:  # the restricted optimum is the LP's
                break
        priced_in = np.flatnonzero((reduced > PRICE_TOLERANCE) & movable & ~chosen)
        if priced_in.size == 0:
            break
        new = _best_priced(priced_in, reduced, restricted.can_warm_start, settings)
        chosen[new] = True
    return PricedLp(
        bound=best,
        support=support,
        reduced=best_reduced,
        rounds=rounds,
        warm_rounds=warm_rounds,
        columns=int(chosen.sum()),
        seconds=time.perf_counter() - started,
        prices=best_prices,
        point=point,
    )


@dataclass(frozen=True)
class _Round:
    """One solve of the restricted LP: its row prices (over the full model's rows), and,
    when solved to optimality, its optimum and point (over the full model's columns)."""

    prices: np.ndarray
    value: float | None
    values: np.ndarray | None


class RestrictedLp:
    """The LP over the chosen columns, in GLOP through MathOpt, kept from round to round.

    A round that brings in many columns is solved afresh with GLOP's presolve; one that brings
    in few (the tail of the pricing, where degenerate prices let a handful in each time) starts
    from the last optimal basis, without presolve and with Devex pricing, which is several times
    faster there. A fresh round uses the primal simplex unless `dual_simplex`: the dual suits the
    soft objective's many point values, the primal a band's count. Timings:
    `benchmarks/NOTES.md` ("Batch solver").
    """

    def __init__(
        self,
        full: SparseModel,
        lower: np.ndarray,
        upper: np.ndarray,
        c: np.ndarray,
        dual_simplex: bool = False,
    ):
        self.full, self.lower, self.upper, self.c = full, lower, upper, c
        self.dual_simplex = dual_simplex
        self.row_of_entry = full.row_of_entry()
        # `SparseModel.entries_by_column`, sorted on the first `add` (7.5 million entries on
        # the large instance).
        self._by_column: tuple[np.ndarray, np.ndarray] | None = None
        self.model: Any = None
        self.solver: Any = None
        self.basis: Any = None
        self.columns: list[int] = []  # the full model's column of each LP variable, in order
        self.variables: list[Any] = []
        self.rows: list[Any] = []

    @property
    def can_warm_start(self) -> bool:
        return self.basis is not None

    def load(self, chosen: np.ndarray) -> None:
        """A fresh LP over the `chosen` columns and every row of the full model (a row with no
        chosen column is empty, and 0 lies within its bounds, as the start keeps every row)."""
        from ortools.math_opt import model_pb2
        from ortools.math_opt.python import mathopt

        full = self.full
        columns = np.flatnonzero(chosen)
        proto = model_pb2.ModelProto()
        proto.variables.ids.extend(range(columns.size))
        proto.variables.lower_bounds.extend(self.lower[columns].tolist())
        proto.variables.upper_bounds.extend(self.upper[columns].tolist())
        proto.variables.integers.extend([False] * columns.size)
        proto.objective.maximize = True
        weighted = np.flatnonzero(self.c[columns])
        proto.objective.linear_coefficients.ids.extend(weighted.tolist())
        proto.objective.linear_coefficients.values.extend(self.c[columns[weighted]].tolist())
        proto.linear_constraints.ids.extend(range(full.n_rows))
        proto.linear_constraints.lower_bounds.extend(_open(full.lo).tolist())
        proto.linear_constraints.upper_bounds.extend(_open(full.hi).tolist())
        position = np.full(full.n_vars, -1, dtype=np.int64)
        position[columns] = np.arange(columns.size)
        # Row-major with columns ascending within a row, as MathOpt requires.
        entries = np.flatnonzero(chosen[full.col])
        entries = entries[np.lexsort((position[full.col[entries]], self.row_of_entry[entries]))]
        matrix = proto.linear_constraint_matrix
        matrix.row_ids.extend(self.row_of_entry[entries].tolist())
        matrix.column_ids.extend(position[full.col[entries]].tolist())
        matrix.coefficients.extend(full.coef[entries].astype(float).tolist())
        self.model = mathopt.Model.from_model_proto(proto)
        self.solver = mathopt.IncrementalSolver(self.model, mathopt.SolverType.GLOP)
        self.columns = columns.tolist()
        self.variables = [self.model.get_variable(i) for i in range(columns.size)]
        self.rows = [self.model.get_linear_constraint(i) for i in range(full.n_rows)]
        self.basis = None

    def add(self, columns: np.ndarray) -> None:
        """Bring `columns` into the LP, non-basic at their lower bound."""
        from ortools.math_opt.python import mathopt

        full = self.full
        if self._by_column is None:
            self._by_column = full.entries_by_column()
        order, column_start = self._by_column
        for j in columns.tolist():
            variable = self.model.add_variable(lb=self.lower[j], ub=self.upper[j])
            if self.c[j]:
                self.model.objective.set_linear_coefficient(variable, self.c[j])
            for entry in order[column_start[j] : column_start[j + 1]]:
                self.rows[self.row_of_entry[entry]].set_coefficient(
                    variable, float(full.coef[entry])
                )
            self.columns.append(j)
            self.variables.append(variable)
            self.basis.variable_status[variable] = mathopt.BasisStatus.AT_LOWER_BOUND

    def solve(self, time_limit_s: float, warm: bool) -> _Round | None:
        """The round's prices, and its optimum when solved to it; None without prices."""
        from ortools.glop import parameters_pb2
        from ortools.math_opt.python import mathopt

        limit = datetime.timedelta(seconds=max(time_limit_s, 0.05))
        if warm:
            devex = parameters_pb2.GlopParameters.DEVEX
            params = mathopt.SolveParameters(
                time_limit=limit,
                presolve=mathopt.Emphasis.OFF,
                glop=parameters_pb2.GlopParameters(optimization_rule=devex, feasibility_rule=devex),
            )
            self.basis.basic_dual_feasibility = None
            result = self.solver.solve(
                params=params, model_params=mathopt.ModelSolveParameters(initial_basis=self.basis)
            )
        else:
            glop = parameters_pb2.GlopParameters(use_dual_simplex=self.dual_simplex)
            params = mathopt.SolveParameters(time_limit=limit, glop=glop)
            result = self.solver.solve(params=params)
        if not result.solutions or result.solutions[0].dual_solution is None:
            self.basis = None
            return None
        solution = result.solutions[0]
        prices = np.zeros(self.full.n_rows)
        duals = solution.dual_solution.dual_values
        prices[[row.id for row in duals]] = list(duals.values())
        optimal = result.termination.reason == mathopt.TerminationReason.OPTIMAL
        self.basis = solution.basis if optimal else None
        if not optimal or solution.primal_solution is None:
            return _Round(prices, None, None)
        point = solution.primal_solution.variable_values
        values = np.zeros(self.full.n_vars)
        values[self.columns] = [point[variable] for variable in self.variables]
        return _Round(prices, float(result.objective_value()), values)


def _open(bounds: np.ndarray) -> np.ndarray:
    """Row bounds as floats, the open sides infinite."""
    out = bounds.astype(float)
    out[bounds <= -UNBOUNDED] = -np.inf
    out[bounds >= UNBOUNDED] = np.inf
    return out


def _best_priced(
    priced_in: np.ndarray, reduced: np.ndarray, warm_start: bool, settings: SolverSettings
) -> np.ndarray:
    """The columns to add: the best priced, half of them but at least `add_at_least` and at
    most `most_per_round` (all at once made the next LP too big to solve in time; a few per
    referral converged far slower). In the tail, with a basis to start from (`warm_start`), a
    round takes only the best `warm_start_most`: from the last basis they cost less than all
    of them afresh."""
    take = min(
        max(settings.add_at_least, priced_in.size // 2), settings.most_per_round, priced_in.size
    )
    if warm_start and take <= 2 * settings.warm_start_most:
        take = min(take, settings.warm_start_most)
    return priced_in[np.argsort(-reduced[priced_in], kind="stable")[:take]]


def starting_columns(
    pair_ref: np.ndarray,
    pair_points: np.ndarray,
    active: np.ndarray,
    incumbent: np.ndarray,
    n_vars: int,
    per_referral: int = 10,
) -> np.ndarray:
    """Every count variable, the incumbent's active pairs, and each referral's
    `per_referral` best-scoring active pairs (the LP places most people in such units)."""
    n_pairs = len(pair_ref)
    chosen = np.zeros(n_vars, dtype=bool)
    chosen[n_pairs:] = True
    chosen[:n_pairs] = (incumbent[:n_pairs] > 0) & active
    chosen[:n_pairs] |= best_per_referral(pair_ref, pair_points, active, per_referral)
    return chosen


def best_per_referral(
    pair_ref: np.ndarray, score: np.ndarray, active: np.ndarray, per_referral: int
) -> np.ndarray:
    """(P,) each referral's `per_referral` active pairs of highest `score` (ties: the pair
    listed first)."""
    candidates = np.flatnonzero(active)
    order = candidates[np.lexsort((-score[candidates], pair_ref[candidates]))]
    refs = pair_ref[order]
    place = np.arange(order.size) - np.searchsorted(refs, refs, side="left")
    chosen = np.zeros(len(pair_ref), dtype=bool)
    chosen[order[place < per_referral]] = True
    return chosen
