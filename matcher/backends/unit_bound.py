"""A band stage's LP bound, tightened until it meets the count found: by units solved whole at
the LP's prices (`matcher.backends.block_bound`), then by cuts on how many of a unit's
candidates fit at once (`matcher.backends.unit_cuts`) and units solved whole again at the
prices of the LP with the cuts. The cuts found go to the run's pool for later proofs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.backends import unit_cuts
from matcher.backends.block_bound import block_bound
from matcher.backends.cut_pool import CutPool
from matcher.backends.settings import SolverSettings
from matcher.backends.submodel import SparseModel
from matcher.backends.unit_cuts import UnitRooms


@dataclass(frozen=True)
class UnitBound:
    """A stage's LP bound, to be tightened unit by unit (`matcher.backends.block_bound`)."""

    model: SparseModel
    lower: np.ndarray
    upper: np.ndarray
    objective: np.ndarray
    prices: np.ndarray | None
    point: np.ndarray | None
    unit: np.ndarray
    settings: SolverSettings
    # The whole LP's cuts (`unit_cuts`): its optimum, the rooms of its columns, and the
    # columns of the incumbent and of every count (a feasible point to price from).
    lp_value: float | None = None
    rooms: UnitRooms | None = None
    incumbent_columns: np.ndarray | None = None
    # Where the cuts found are kept for the stage's proof and later ones, and the full
    # model's index of each of `model`'s variables.
    pool: CutPool | None = None
    columns: np.ndarray | None = None

    def run(
        self,
        value: int,
        lp_bound: int,
        seconds: float,
        entry: dict[str, object],
        cut_seconds: float = 0.0,
    ) -> int:
        """The bound, tightened until it meets `value`: by units solved whole at the LP's
        prices, then (if that falls short) by cuts in `cut_seconds` at most and units solved
        whole again at the prices of the LP with the cuts; each in `seconds` at most."""
        bound, solved = self._by_units(
            self.model, self.prices, self.point, value, lp_bound, seconds
        )
        if solved:
            entry["unit_bound"] = solved
        point, rooms, lp_value = self.point, self.rooms, self.lp_value
        if bound <= value or point is None or rooms is None or lp_value is None:
            return bound
        if cut_seconds < 0.1:
            return bound
        cut = unit_cuts.tighten(
            self.model,
            self.objective,
            rooms,
            point,
            self.incumbent_columns,
            lp_value,
            cut_seconds,
            enough=value,
            settings=self.settings,
        )
        entry["unit_cuts"] = {
            "bound": round(cut.bound, 3),
            "rounds": cut.rounds,
            "cuts": cut.cuts,
            "seconds": round(cut.seconds, 3),
        }
        if self.pool is not None and self.columns is not None:
            self.pool.add(cut.found, self.columns)
        if cut.prices is None:
            return bound
        bound = min(bound, cut.integer_bound)
        bound, solved = self._by_units(cut.model, cut.prices, cut.point, value, bound, seconds)
        if solved:
            entry["unit_bound_after_cuts"] = solved
        return bound

    def _by_units(
        self,
        model: SparseModel,
        prices: np.ndarray | None,
        point: np.ndarray | None,
        value: int,
        bound: int,
        seconds: float,
    ) -> tuple[int, dict[str, object] | None]:
        """`bound`, lowered by units solved whole at `prices` (`block_bound`), and what was
        solved, for the stage's log (None if nothing)."""
        if prices is None or seconds < 0.1 or bound <= value:
            return bound, None
        out = block_bound(
            model,
            self.lower,
            self.upper,
            self.objective,
            prices,
            self.unit,
            seconds,
            point=point,
            enough=value,
            settings=self.settings,
        )
        if out is None or out.units_solved == 0:
            return bound, None
        solved: dict[str, object] = {
            "bound": round(out.bound, 3),
            "units_solved": out.units_solved,
            "units_tightened": out.units_tightened,
            "seconds": round(out.seconds, 3),
        }
        return min(bound, out.integer_bound), solved
