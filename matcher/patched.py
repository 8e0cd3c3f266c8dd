"""Two-dimensional arrays that share all but a few columns (or rows) with the array they
were made from.

A placement changes a few columns of the ranking context's (referrals × bed-spaces) and
(referrals × units) arrays: the bed-spaces and units whose occupants changed. Copying a
whole array to change a few of its columns costs tens of milliseconds on a city's portfolio,
once per placement, all of it holding the interpreter; a patched array costs the few columns.
Each is copy on write: patching makes a new object and leaves the one it was made from as it
was, so a request still reading the old version reads what it read before.

They are read the way the ranking reads its arrays: a row (`a[r]`), a cell (`a[r, c]`), some
cells of a row (`a[r, cols]`), some rows (`rows`) or some columns (`columns`). Any other
index reads a dense copy, made once per object.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

# Patched columns (or rows) kept beside the base array before it is copied whole with them:
# the patch is copied at every change, the base only this often.
MOST_PATCHED_SHARE = 8  # at most one in this many columns
MOST_PATCHED_FLOOR = 64


def _patch_limit(n: int) -> int:
    return max(MOST_PATCHED_FLOOR, n // MOST_PATCHED_SHARE)


class _Patched:
    """What both kinds share: an array's shape and type, and the dense copy made once."""

    __slots__ = ("_base", "_dense", "_lock")

    def __init__(self, base: np.ndarray, patched: bool) -> None:
        self._base = base
        self._dense: np.ndarray | None = None if patched else base
        self._lock = threading.Lock()

    @property
    def shape(self) -> tuple[int, ...]:
        return self._base.shape  # type: ignore[no-any-return]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self._base.dtype

    @property
    def ndim(self) -> int:
        return 2

    def _patch(self, dense: np.ndarray) -> None:
        raise NotImplementedError

    def dense(self) -> np.ndarray:
        """The whole array (made once, then shared: do not write to it)."""
        if self._dense is None:
            with self._lock:
                if self._dense is None:
                    dense = self._base.copy()
                    self._patch(dense)
                    self._dense = dense
        return self._dense

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        dense = self.dense()
        return dense if dtype is None else dense.astype(dtype)

    def __len__(self) -> int:
        return int(self.shape[0])


class PatchedColumns(_Patched):
    """An (R, N) array: `base` with the columns in `slot` (slot[c] >= 0) taken from
    `values[:, slot[c]]`."""

    __slots__ = ("_slot", "_cols", "_values")

    def __init__(
        self,
        base: np.ndarray,
        slot: np.ndarray | None = None,
        cols: np.ndarray | None = None,
        values: np.ndarray | None = None,
    ) -> None:
        super().__init__(base, patched=values is not None)
        self._slot = slot  # (N,) position of each patched column in `values`, -1 if not
        self._cols = cols  # patched columns, in the order of `values`' columns
        self._values = values  # (R, k)

    @classmethod
    def of(cls, array: np.ndarray | PatchedColumns) -> PatchedColumns:
        return array if isinstance(array, PatchedColumns) else cls(array)

    def with_columns(self, cols: np.ndarray, values: np.ndarray) -> PatchedColumns:
        """A new array: this one with `cols` replaced by the columns of `values` (R, len(cols))."""
        cols = np.asarray(cols, dtype=np.int64)
        if cols.size == 0:
            return self
        values = np.asarray(values, dtype=self.dtype)
        n_rows, n_cols = self.shape
        if self._values is None:
            old_cols = np.empty(0, dtype=np.int64)
            old_values = np.empty((n_rows, 0), dtype=self.dtype)
        else:
            assert self._cols is not None
            keep = ~np.isin(self._cols, cols)
            old_cols, old_values = self._cols[keep], self._values[:, keep]
        all_cols = np.concatenate((old_cols, cols))
        if all_cols.size > _patch_limit(n_cols):
            dense = self.dense().copy()
            dense[:, cols] = values
            return PatchedColumns(dense)
        slot = np.full(n_cols, -1, dtype=np.int64)
        slot[all_cols] = np.arange(all_cols.size)
        return PatchedColumns(self._base, slot, all_cols, np.hstack((old_values, values)))

    def columns(self, cols: np.ndarray) -> np.ndarray:
        """(R, len(cols)) copy of these columns."""
        cols = np.asarray(cols, dtype=np.int64)
        out = self._base[:, cols]
        if self._values is not None:
            assert self._slot is not None
            at = self._slot[cols]
            hit = at >= 0
            if hit.any():
                out[:, hit] = self._values[:, at[hit]]
        return out

    def rows(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), N) copy of these rows."""
        rows = np.asarray(rows, dtype=np.int64)
        out = self._base[rows]
        if self._values is not None:
            assert self._cols is not None
            out[:, self._cols] = self._values[rows]
        return out

    def pick(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The cells (rows[k], cols[k])."""
        out = self._base[rows, cols]
        if self._values is not None:
            assert self._slot is not None
            at = self._slot[cols]
            hit = at >= 0
            if hit.any():
                out[hit] = self._values[rows[hit], at[hit]]
        return out

    def _patch(self, dense: np.ndarray) -> None:
        if self._values is not None:
            dense[:, self._cols] = self._values

    def __getitem__(self, key: Any) -> Any:
        if self._values is None:
            return self._base[key]
        if isinstance(key, int | np.integer):
            return self.rows(np.array([key]))[0]
        if isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], int | np.integer):
            r, c = key
            assert self._slot is not None
            if isinstance(c, int | np.integer):
                at = int(self._slot[c])
                return self._values[r, at] if at >= 0 else self._base[r, c]
            picked = np.arange(self.shape[1])[c]
            out = self._base[r, picked]
            slots = self._slot[picked]
            hit = slots >= 0
            if np.any(hit):
                out[hit] = self._values[r, slots[hit]]
            return out
        return self.dense()[key]


class PatchedRows(_Patched):
    """An (N, R) array: `base` with some rows replaced (`rows[i]` for row i)."""

    __slots__ = ("_rows",)

    def __init__(self, base: np.ndarray, rows: dict[int, np.ndarray] | None = None) -> None:
        super().__init__(base, patched=bool(rows))
        self._rows = rows or {}

    @classmethod
    def of(cls, array: np.ndarray | PatchedRows) -> PatchedRows:
        return array if isinstance(array, PatchedRows) else cls(array)

    def with_rows(self, rows: np.ndarray, values: np.ndarray) -> PatchedRows:
        """A new array: this one with `rows` replaced by the rows of `values`."""
        if len(rows) == 0:
            return self
        values = np.asarray(values, dtype=self.dtype)
        patched = dict(self._rows)
        for k, i in enumerate(np.asarray(rows).tolist()):
            patched[i] = values[k]
        if len(patched) > _patch_limit(self.shape[0]):
            dense = self.dense().copy()
            dense[np.asarray(rows, dtype=np.int64)] = values
            return PatchedRows(dense)
        return PatchedRows(self._base, patched)

    def _patch(self, dense: np.ndarray) -> None:
        for i, row in self._rows.items():
            dense[i] = row

    def __getitem__(self, key: Any) -> Any:
        if not self._rows:
            return self._base[key]
        if isinstance(key, int | np.integer):
            row = self._rows.get(int(key))
            return self._base[key] if row is None else row
        if isinstance(key, tuple) and len(key) == 2:
            which, c = key
            if isinstance(which, int | np.integer):
                return self[which][c]
            rows = np.asarray(which)
            if rows.dtype == bool:
                rows = np.flatnonzero(rows)
            if rows.ndim == 1 and isinstance(c, int | np.integer | slice):
                return self.take(rows)[:, c]
            if rows.ndim == 2 and rows.shape[1] == 1 and np.ndim(c) == 1:
                return self.take(rows[:, 0])[:, c]
        return self.dense()[key]

    def take(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), R) copy of these rows."""
        out = self._base[rows]
        for k, i in enumerate(rows.tolist()):
            row = self._rows.get(i)
            if row is not None:
                out[k] = row
        return out


Matrix = np.ndarray | PatchedColumns
RowsMatrix = np.ndarray | PatchedRows

__all__ = ["Matrix", "PatchedColumns", "PatchedRows", "RowsMatrix"]
