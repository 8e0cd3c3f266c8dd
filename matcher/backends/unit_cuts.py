"""How many of a unit's candidates fit at once: cuts that tighten a band stage's LP bound.

A unit's newcomers share its free bed-spaces, its high-risk room and its support hours. Each
row alone is loose in the LP relaxation, which fills a knapsack with fractions of people. For
any set ``S`` of a unit's candidates, at most ``m(S)`` of them fit together, where ``m(S)``
is the most that all three rows allow at once (computed exactly: for each number of
high-risk people taken, the cheapest in hours of each kind). So

    sum_{j in S} y_j <= m(S)

holds for every allocation. `separate` looks, in each unit the LP's point uses, for the set
the point overfills most, and `tighten` re-solves the LP with those rows until the bound meets
the count found. The figures on the varied family are in `benchmarks/NOTES.md`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from matcher.backends import mip_prover
from matcher.backends.classes import Instance
from matcher.backends.linear import Row
from matcher.backends.priced_lp import PricedLp, priced_lp
from matcher.backends.settings import DEFAULT_SETTINGS, SolverSettings
from matcher.backends.submodel import SparseModel

# A point's value below this is no use of the column; an overfill below it is rounding.
TOLERANCE = 1e-6
# Rounds that lower the bound by less than `LEAST_GAIN` end the cuts after `STALLED_ROUNDS`
# of them in a row (on the varied family the bound moves in steps of 0.05 to 1.5, and may
# pause for a round before the next step).
LEAST_GAIN = 0.01
STALLED_ROUNDS = 2


@dataclass(frozen=True)
class UnitRooms:
    """What limits a unit's newcomers, seen from a model's columns: the unit of each pair
    column (-1 for every other variable), its referral's support hours and high-risk flag,
    and per unit its support-hour room, high-risk room and free bed-spaces."""

    unit: np.ndarray
    hours: np.ndarray
    high_risk: np.ndarray
    hours_room: np.ndarray
    high_risk_room: np.ndarray
    beds: np.ndarray

    @classmethod
    def of(cls, inst: Instance, columns: np.ndarray) -> UnitRooms:
        """The rooms for a model whose variable i is variable `columns[i]` of the full
        model (`classes.build_model`'s numbering, pairs first)."""
        columns = np.asarray(columns, dtype=np.int64)
        is_pair = columns < inst.n_pairs
        pairs = columns[is_pair]
        refs = inst.pair_ref[pairs]
        n_units = len(inst.tables.units)
        unit = np.full(columns.size, -1, dtype=np.int64)
        unit[is_pair] = inst.pair_unit[pairs]
        hours = np.zeros(columns.size, dtype=np.int64)
        hours[is_pair] = inst.hours[refs]
        high_risk = np.zeros(columns.size, dtype=bool)
        high_risk[is_pair] = inst.coupling.is_high_risk[refs]
        class_unit = np.array([c.unit for c in inst.classes], dtype=np.int64)
        class_size = np.array([c.size for c in inst.classes], dtype=np.int64)
        beds = np.bincount(class_unit, weights=class_size, minlength=n_units).astype(np.int64)
        return cls(
            unit=unit,
            hours=hours,
            high_risk=high_risk,
            hours_room=np.asarray(inst.hours_room, dtype=np.int64),
            high_risk_room=np.maximum(np.asarray(inst.coupling.high_risk_room), 0).astype(np.int64),
            beds=beds,
        )

    def most_that_fit(self, unit: int, members: np.ndarray) -> int:
        """The most of the columns `members` (all of `unit`) that fit there together."""
        high = self.high_risk[members]
        lows = np.concatenate([[0], np.cumsum(np.sort(self.hours[members[~high]]))])
        highs = np.concatenate([[0], np.cumsum(np.sort(self.hours[members[high]]))])
        room = int(self.hours_room[unit])
        best = 0
        for taken in range(min(int(self.high_risk_room[unit]), highs.size - 1) + 1):
            if highs[taken] > room:
                break
            best = max(best, taken + int(np.searchsorted(lows, room - highs[taken], "right")) - 1)
        return min(best, int(self.beds[unit]))

    def separate(self, point: np.ndarray) -> list[Row]:
        """One row per unit that `point` overfills: over the set of its candidates, most
        used first, that it overfills most, widened by those needing at least as many hours
        where that does not raise the count that fits."""
        used = np.flatnonzero((self.unit >= 0) & (point > TOLERANCE))
        cuts: list[Row] = []
        for u in np.unique(self.unit[used]).tolist():
            mine = used[self.unit[used] == u]
            order = mine[np.lexsort((self.hours[mine], -point[mine]))]
            filled = np.cumsum(point[order])
            best: tuple[float, int, int] | None = None
            for n in range(1, order.size + 1):
                fit = self.most_that_fit(u, order[:n])
                over = float(filled[n - 1]) - fit
                if over > TOLERANCE and (best is None or over > best[0]):
                    best = (over, n, fit)
            if best is None:
                continue
            _, n, fit = best
            members = order[:n]
            heavier = np.flatnonzero((self.unit == u) & (self.hours >= self.hours[members].max()))
            widened = np.union1d(members, heavier)
            if self.most_that_fit(u, widened) == fit:
                members = widened
            cuts.append(Row(np.sort(members), np.ones(members.size, dtype=np.int64), None, fit))
        return cuts


@dataclass(frozen=True)
class CutBound:
    """The best LP bound reached, after `rounds` rounds and `cuts` cuts: `model` holds
    them, `prices` and `point` are that LP's (over `model`'s rows and columns; no prices if
    no round lowered the bound). `found` is every cut of every round, over `model`'s
    columns: each holds for any allocation, whether or not it lowered the bound."""

    bound: float
    model: SparseModel
    prices: np.ndarray | None
    point: np.ndarray | None
    rounds: int
    cuts: int
    seconds: float
    found: tuple[Row, ...] = ()

    @property
    def integer_bound(self) -> int:
        """No integer point beats the bound rounded down (the tolerance absorbs rounding)."""
        return int(np.floor(self.bound + 1e-6))


def tighten(
    model: SparseModel,
    objective: np.ndarray,
    rooms: UnitRooms,
    point: np.ndarray,
    start: np.ndarray | None,
    bound: float,
    time_limit_s: float,
    enough: int | None = None,
    settings: SolverSettings = DEFAULT_SETTINGS,
) -> CutBound:
    """Rounds of cuts: each separated from the last LP point, then the LP re-solved over
    the model with them: priced (`priced_lp`) from the columns `start` (which must hold a
    feasible point, e.g. the incumbent's) and the last point's, or whole by GLOP without a
    `start`. Stops when no new cut is found, when the bound rounds down to `enough`, when
    it stalls, or after `time_limit_s`; every bound on the way is proven."""
    started = time.perf_counter()
    stop_at = started + time_limit_s
    free = np.ones(model.n_vars, dtype=bool)
    best = CutBound(bound, model, None, point, 0, 0, 0.0)
    rounds = cuts = stalled = 0
    seen: set[tuple[bytes, int | None]] = set()
    found: list[Row] = []
    while time.perf_counter() < stop_at - 0.05 and stalled < STALLED_ROUNDS:
        if enough is not None and np.floor(bound + 1e-6) <= enough:
            break
        rows = [r for r in rooms.separate(point) if (r.idx.tobytes(), r.hi) not in seen]
        if not rows:
            break
        seen.update((r.idx.tobytes(), r.hi) for r in rows)
        found += rows
        model = model.with_rows(rows)
        cuts += len(rows)
        remaining = stop_at - time.perf_counter()
        if start is None:
            lp = _whole_lp(model, objective, remaining)
        else:
            columns = np.asarray(start, dtype=bool) | (point > TOLERANCE)
            lp = priced_lp(model, free, objective, columns, remaining, settings=settings)
        rounds += 1
        if lp.bound is None or lp.point is None or lp.prices is None:
            break
        point = lp.point
        stalled = stalled + 1 if lp.bound > bound - LEAST_GAIN else 0
        if lp.bound < bound:
            bound = lp.bound
            best = CutBound(bound, model, lp.prices, point, rounds, cuts, 0.0)
    return replace(best, seconds=time.perf_counter() - started, found=tuple(found))


def _whole_lp(model: SparseModel, objective: np.ndarray, time_limit_s: float) -> PricedLp:
    """GLOP on the whole LP, as `priced_lp` reports one (the bound is the LP optimum)."""
    lp = mip_prover.relax(model, objective, time_limit_s)
    return PricedLp(
        bound=lp.value,
        support=None if lp.values is None else lp.values > TOLERANCE,
        reduced=lp.reduced_costs,
        rounds=1,
        warm_rounds=0,
        columns=model.n_vars,
        seconds=lp.seconds,
        prices=lp.prices,
        point=lp.values,
    )
