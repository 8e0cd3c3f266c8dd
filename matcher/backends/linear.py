"""Integer variables with bounds and linear rows: the model every exact backend translates.

It knows nothing of referrals or rules: `classes` builds one from `constraints/`, `submodel`
turns it into sparse arrays and the smaller models of each stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Row:
    """``lo <= sum(coef * var[idx]) <= hi`` (``None`` for an open side)."""

    idx: np.ndarray
    coef: np.ndarray
    lo: int | None
    hi: int | None


@dataclass
class LinearModel:
    """Integer variables with bounds and linear rows: what both exact backends translate."""

    lower: list[int] = field(default_factory=list)
    upper: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    # Set once the rows are let go (`release_rows`): how many there were.
    released_rows: int | None = None

    def add_vars(self, count: int, lower: int, upper: int | list[int]) -> int:
        """Add `count` variables; return the index of the first."""
        first = len(self.lower)
        self.lower.extend([lower] * count)
        self.upper.extend(upper if isinstance(upper, list) else [upper] * count)
        return first

    def add_row(
        self,
        idx: list[int] | np.ndarray,
        coef: list[int] | np.ndarray,
        lo: int | None,
        hi: int | None,
    ) -> None:
        idx_array = np.asarray(idx, dtype=np.int64)
        if idx_array.size == 0:
            return
        self.rows.append(Row(idx_array, np.asarray(coef, dtype=np.int64), lo, hi))

    @property
    def n_vars(self) -> int:
        return len(self.lower)

    @property
    def n_rows(self) -> int:
        return len(self.rows) if self.released_rows is None else self.released_rows

    def release_rows(self) -> None:
        """Let the rows go once their sparse copy is made: on a city's model they are a
        second copy of it, about 300 MiB of small arrays. The model cannot be read again."""
        self.released_rows = self.n_rows
        self.rows = []
