"""The `LinearModel` as sparse arrays, and the smaller models left when variables are fixed.

A stage of the lexicographic objective needs only its active pairs; a neighbourhood search
needs only the pairs near the referrals it tries to place. Both are the full model with every
other variable fixed: the rows touching no free variable drop out (the fixed values satisfy
them), and the fixed part of every other row moves into its bounds. CP-SAT's presolve would do
the same, but per stage and per neighbourhood, over every variable: here it is a few numpy
operations over the CSR arrays, and the solver sees only what can move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matcher.backends.linear import LinearModel, Row
from matcher.backends.narrow import narrow

# Bounds at or beyond this magnitude mean "no bound" (CP-SAT's own limit is 2**62).
UNBOUNDED = 2**61


@dataclass(frozen=True)
class SparseModel:
    """Rows as CSR arrays: row i is ``lo[i] <= coef[s:e] @ x[col[s:e]] <= hi[i]``."""

    lower: np.ndarray  # (n,) variable bounds
    upper: np.ndarray
    start: np.ndarray  # (m + 1,) row starts into col / coef
    col: np.ndarray  # int32 where every value fits (`narrow`), as coef
    coef: np.ndarray
    lo: np.ndarray  # (m,) -UNBOUNDED where open
    hi: np.ndarray  # (m,) UNBOUNDED where open

    @property
    def n_vars(self) -> int:
        return len(self.lower)

    @property
    def n_rows(self) -> int:
        return len(self.lo)

    @classmethod
    def of(cls, model: LinearModel, extra: list[Row] | None = None) -> SparseModel:
        if model.released_rows is not None:
            raise ValueError("the model's rows were released; use the sparse copy made then")
        rows = [*model.rows, *(extra or [])]
        lengths = np.array([len(row.idx) for row in rows], dtype=np.int64)
        start = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(lengths, out=start[1:])
        empty = np.zeros(0, dtype=np.int64)
        return cls(
            lower=np.asarray(model.lower, dtype=np.int64),
            upper=np.asarray(model.upper, dtype=np.int64),
            start=start,
            col=narrow(np.concatenate([row.idx for row in rows]) if rows else empty),
            coef=narrow(np.concatenate([row.coef for row in rows]) if rows else empty),
            lo=np.array([-UNBOUNDED if r.lo is None else r.lo for r in rows], dtype=np.int64),
            hi=np.array([UNBOUNDED if r.hi is None else r.hi for r in rows], dtype=np.int64),
        )

    def with_rows(self, rows: list[Row]) -> SparseModel:
        """This model with more rows (e.g. an earlier stage held at its optimum)."""
        if not rows:
            return self
        extra = SparseModel.of(LinearModel(lower=[], upper=[], rows=rows))
        return SparseModel(
            lower=self.lower,
            upper=self.upper,
            start=np.concatenate([self.start, self.start[-1] + extra.start[1:]]),
            col=np.concatenate([self.col, extra.col]),
            coef=np.concatenate([self.coef, extra.coef]),
            lo=np.concatenate([self.lo, extra.lo]),
            hi=np.concatenate([self.hi, extra.hi]),
        )

    def row_of_entry(self) -> np.ndarray:
        return np.repeat(narrow(np.arange(self.n_rows)), np.diff(self.start))

    def rows_of(self, entries: np.ndarray) -> np.ndarray:
        """The row of each of `entries` (indices into col / coef, ascending or not)."""
        return np.searchsorted(self.start, entries, side="right") - 1

    def entries_by_column(self) -> tuple[np.ndarray, np.ndarray]:
        """The entries in column order, and where each column starts in that order:
        column j's entries are ``order[first[j]:first[j + 1]]``."""
        order = narrow(np.argsort(self.col, kind="stable"))
        first = np.searchsorted(self.col[order], np.arange(self.n_vars + 1))
        return order, first

    def feasible(self, values: np.ndarray) -> bool:
        """Whether `values` keep every row and every variable bound."""
        return not (
            self.violated_rows(values).size
            or np.any(values < self.lower)
            or np.any(values > self.upper)
        )

    def violated_rows(self, values: np.ndarray) -> np.ndarray:
        """Rows that `values` break (none for a feasible point)."""
        activity = np.bincount(
            self.row_of_entry(), weights=self.coef * values[self.col], minlength=self.n_rows
        )
        return np.flatnonzero((activity < self.lo - 1e-9) | (activity > self.hi + 1e-9))


@dataclass(frozen=True)
class SubModel:
    """A `SparseModel` over the free variables only; `free[i]` is the full index of var i."""

    model: SparseModel
    free: np.ndarray
    fixed: np.ndarray  # (n_full,) values of the full model's variables outside `free`

    def expand(self, values: np.ndarray) -> np.ndarray:
        """The full model's values: the fixed ones, with the free ones from `values`."""
        full = self.fixed.copy()
        full[self.free] = values
        return full


def restrict(full: SparseModel, free: np.ndarray, fixed: np.ndarray) -> SubModel:
    """The model left when every variable outside `free` (a bool mask) keeps its `fixed` value.

    `fixed` must satisfy every row that touches no free variable (a feasible point does).
    Only the entries of free variables, and of fixed ones whose value is not zero, are looked
    at: arrays over every entry of a city's model are 100 MiB each.
    """
    free = np.asarray(free, dtype=bool)
    fixed = np.asarray(fixed, dtype=np.int64)
    free_entries = np.flatnonzero(free[full.col])
    free_rows = full.rows_of(free_entries)
    # What the fixed variables contribute to each row moves into its bounds.
    counted = np.flatnonzero((~free & (fixed != 0))[full.col])
    constant = np.bincount(
        full.rows_of(counted),
        weights=full.coef[counted] * fixed[full.col[counted]],
        minlength=full.n_rows,
    ).astype(np.int64)
    kept_row = np.zeros(full.n_rows, dtype=bool)
    kept_row[free_rows] = True  # a row with no free variable is kept by the fixed values
    new_index = np.full(full.n_vars, -1, dtype=np.int64)
    free_idx = np.flatnonzero(free)
    new_index[free_idx] = np.arange(free_idx.size)
    row_map = np.cumsum(kept_row) - 1
    lengths = np.bincount(row_map[free_rows], minlength=int(kept_row.sum()))
    start = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=start[1:])
    lo, hi = full.lo[kept_row], full.hi[kept_row]
    shift = constant[kept_row]
    sub = SparseModel(
        lower=full.lower[free_idx],
        upper=full.upper[free_idx],
        start=start,
        col=narrow(new_index[full.col[free_entries]]),
        coef=full.coef[free_entries],
        lo=np.where(lo <= -UNBOUNDED, -UNBOUNDED, lo - shift),
        hi=np.where(hi >= UNBOUNDED, UNBOUNDED, hi - shift),
    )
    return SubModel(model=sub, free=free_idx, fixed=fixed)
