"""A stage's LP relaxation solved over a few of its columns and proven over all of them.

On the large instance the band-2 stage has 1,051,080 free variables: GLOP had not solved its
LP in 8.6 s and took the process peak past 2 GiB, so the band's only bound was its flow
ceiling (gap 3.8 %). But the LP's optimum uses few columns. So the LP is solved over a
restricted set (every count variable, the incumbent's pairs, and each referral's `per_referral`
best-scoring pairs), and its row prices `y` give a bound over every column at once
(Lagrangian duality): for any `y`, every point of ``lo <= A x <= hi, lower <= x <= upper``
has

    c x = y (A x) + d x
        <= sum_i max(y_i lo_i, y_i hi_i) + sum_j max(d_j lower_j, d_j upper_j)

with ``d = c - A'y`` (a row open on the side its price would use gets price 0). Columns with
``d_j > 0`` are those the restricted LP lacks: the best of them join it and it is solved
again, until none is left (the restricted optimum is then the LP's) or time runs out. Every
bound on the way is valid, whatever the duals' quality, so stopping anywhere is safe.

Measured, 2 shared cores: the large band-2 stage (bands above held at the start's counts)
starts from 41,061 columns and reaches the LP optimum 981.42 in 6 rounds of about 1.2 s each
at 53,232 columns, the first bound being 12,019 and the third 1,030; medium band 3 (66,532
variables) gives 268 in 3 rounds of 0.1 s (GLOP on the whole stage: 0.3 s); medium band 1
(153,179) 407.73 in 4 rounds of 0.36 s (whole: 2.6 s).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from matcher.backends import mip_prover
from matcher.backends.submodel import UNBOUNDED, SparseModel, restrict

# Columns added per round (see `_best_priced`).
ADD_AT_LEAST = 20_000
MOST_PER_ROUND = 40_000
# A reduced cost above this prices a column in (GLOP's own tolerances are about 1e-7).
PRICE_TOLERANCE = 1e-7
# A bound this close to the restricted optimum ends the pricing (the bound reported is the
# bound, never the restricted optimum).
CONVERGED = 1e-4


@dataclass(frozen=True)
class PricedLp:
    """`bound`: a proven upper bound on the stage's LP (None if no round finished);
    `value`: the last restricted LP's optimum; `values`: its point over the whole model
    (zero off the restricted columns); `reduced`: every column's reduced cost at the
    prices of the best bound; `rounds` and `columns`: the work done."""

    bound: float | None
    value: float | None
    values: np.ndarray | None
    reduced: np.ndarray | None
    rounds: int
    columns: int
    seconds: float

    @property
    def integer_bound(self) -> int | None:
        """No integer point beats the bound rounded down (the tolerance absorbs rounding)."""
        return None if self.bound is None else int(np.floor(self.bound + 1e-6))


def lagrangian_bound(
    model: SparseModel,
    lower: np.ndarray,
    upper: np.ndarray,
    objective: np.ndarray,
    prices: np.ndarray,
) -> tuple[float, np.ndarray]:
    """An upper bound on ``max objective @ x`` over `model`'s rows with variable bounds
    `lower`/`upper`, from any row `prices`; and the reduced costs ``objective - A'prices``."""
    y = np.array(prices, dtype=float)
    y[(y > 0) & (model.hi >= UNBOUNDED)] = 0.0  # no upper side to price
    y[(y < 0) & (model.lo <= -UNBOUNDED)] = 0.0  # no lower side
    row_terms = np.where(y > 0, y * model.hi, 0.0) + np.where(y < 0, y * model.lo, 0.0)
    weights = model.coef * y[model.row_of_entry()]
    reduced = objective - np.bincount(model.col, weights=weights, minlength=model.n_vars)
    column_terms = np.maximum(reduced * lower, reduced * upper)
    # Floating-point sums of large terms may cancel: the bound is raised by more than their
    # possible rounding error, so that it stays a bound.
    slack = 1e-9 * float(np.abs(row_terms).sum() + np.abs(column_terms).sum() + 1.0)
    return float(row_terms.sum() + column_terms.sum()) + slack, reduced


def priced_lp(
    full: SparseModel,
    free: np.ndarray,
    objective: np.ndarray,
    start: np.ndarray,
    time_limit_s: float,
) -> PricedLp:
    """Maximise ``objective @ x`` over the LP relaxation of `full` with the variables off
    `free` at 0, starting from the columns `start` (a bool mask within `free`: it must hold a
    feasible point, e.g. the incumbent's columns and every count variable)."""
    started = time.perf_counter()
    stop_at = started + time_limit_s
    lower = np.where(free, full.lower, 0).astype(float)
    upper = np.where(free, full.upper, 0).astype(float)
    c = np.asarray(objective, dtype=float)
    chosen = np.asarray(start, dtype=bool) & free
    row_of_entry = full.row_of_entry()
    zeros = np.zeros(full.n_vars, dtype=np.int64)
    best: float | None = None
    value: float | None = None
    values: np.ndarray | None = None
    best_reduced: np.ndarray | None = None
    rounds = 0
    while True:
        remaining = stop_at - time.perf_counter()
        if remaining < 0.05:
            break
        sub = restrict(full, chosen, zeros)
        lp = mip_prover.relax_with_prices(sub.model, c[sub.free], remaining)
        rounds += 1
        if lp.prices is None:
            break
        # The restricted LP's rows are the rows of `full` touching a chosen column, in order.
        kept = np.bincount(row_of_entry[chosen[full.col]], minlength=full.n_rows) > 0
        prices = np.zeros(full.n_rows)
        prices[kept] = lp.prices
        bound, reduced = lagrangian_bound(full, lower, upper, c, prices)
        if best is None or bound < best:
            best, best_reduced = bound, reduced
        if lp.value is not None:
            value = lp.value
            values = np.zeros(full.n_vars)
            values[sub.free] = lp.values
            if best <= lp.value + CONVERGED:  # the restricted optimum is the LP's
                break
        priced_in = np.flatnonzero((reduced > PRICE_TOLERANCE) & free & ~chosen)
        if priced_in.size == 0:
            break
        chosen[_best_priced(priced_in, reduced)] = True
    return PricedLp(
        bound=best,
        value=value,
        values=values,
        reduced=best_reduced,
        rounds=rounds,
        columns=int(chosen.sum()),
        seconds=time.perf_counter() - started,
    )


def _best_priced(priced_in: np.ndarray, reduced: np.ndarray) -> np.ndarray:
    """The columns to add: the best priced, half of them but at least `ADD_AT_LEAST` and at
    most `MOST_PER_ROUND`. Adding every one at once made the large band-1 stage's second LP
    306,346 columns, too many to solve in the time left; adding a few per referral (3)
    left the band-2 bound at 12,710 after 15 rounds, where halves had reached the LP
    optimum in 7."""
    take = min(max(ADD_AT_LEAST, priced_in.size // 2), MOST_PER_ROUND)
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
