"""Units a keep-together group cannot share: pairs whose rows the whole group overfills.

A couple goes to one unit or nowhere (``y[a, u] = y[b, u]``). Each partner alone may fit a
unit whose rows the two together overfill (one free bed-space, support hours or high-risk
room for one); the integer model never places them there, but its LP relaxation does, half
each. Putting the whole group in the unit (the rest at its bounds) and finding a row it breaks
proves the group never goes there, so its pairs there are closed. This restates no rule: it
reads the rows `reduced_model.build_model` wrote, as a MIP solver's probing would. Its effect on the
LP bounds is in `benchmarks/NOTES.md` ("Batch solver").
"""

from __future__ import annotations

import numpy as np

from matcher.backends.submodel import UNBOUNDED, SparseModel

# Entries read at a time by `activity_bounds`: float arrays over every entry of a city's model
# at once held 600 MiB, the peak of building its model.
ACTIVITY_CHUNK = 1 << 20


def activity_bounds(model: SparseModel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's least and most activity with every variable within its bounds (`rows` is
    `model.row_of_entry()`). The entries are added a chunk at a time, in their order, as one
    `np.bincount` over them all would add them, so the sums are the same to the last bit."""
    least, most = np.zeros(model.n_rows), np.zeros(model.n_rows)
    for first in range(0, len(model.col), ACTIVITY_CHUNK):
        chunk = slice(first, first + ACTIVITY_CHUNK)
        coef = model.coef[chunk].astype(np.float64)
        col = model.col[chunk]
        low, high = model.lower[col].astype(np.float64), model.upper[col].astype(np.float64)
        np.add.at(least, rows[chunk], np.where(coef > 0, coef * low, coef * high))
        np.add.at(most, rows[chunk], np.where(coef > 0, coef * high, coef * low))
    return least, most


def unfit_group_pairs(model: SparseModel, groups: list[list[int]]) -> list[int]:
    """The pairs of each group in `groups` (the pairs of one keep-together group in one unit)
    that cannot all be 1 at once: with the rest of `model` at its bounds, some row breaks."""
    if not groups:
        return []
    sizes = np.array([len(group) for group in groups])
    members = np.concatenate([np.asarray(group, dtype=np.int64) for group in groups])
    group_of = np.full(model.n_vars, -1, dtype=np.int64)
    group_of[members] = np.repeat(np.arange(len(groups)), sizes)

    rows, col = model.row_of_entry(), model.col
    least, most = activity_bounds(model, rows)
    # Each member raised from its lower bound to 1 lifts its row's least activity (positive
    # coefficient) or lowers its most (negative), row by row and group by group.
    entry = np.flatnonzero((group_of >= 0)[col])
    key = group_of[col[entry]] * model.n_rows + rows[entry]
    keys, at = np.unique(key, return_inverse=True)
    low = model.lower[col[entry]].astype(np.float64)
    lift = model.coef[entry].astype(np.float64) * (1 - low)
    lifted = np.bincount(at, weights=np.where(lift > 0, lift, 0), minlength=keys.size)
    lowered = np.bincount(at, weights=np.where(lift < 0, lift, 0), minlength=keys.size)
    row = keys % model.n_rows
    breaks = ((model.hi[row] < UNBOUNDED) & (least[row] + lifted > model.hi[row] + 1e-9)) | (
        (model.lo[row] > -UNBOUNDED) & (most[row] + lowered < model.lo[row] - 1e-9)
    )
    unfit = np.zeros(len(groups), dtype=bool)
    unfit[keys[breaks] // model.n_rows] = True
    # A member already closed there (upper bound below 1) closes its group too.
    closed_member = model.upper[members] < 1
    unfit[np.repeat(np.arange(len(groups)), sizes)[closed_member]] = True
    return [p for group, out in zip(groups, unfit.tolist(), strict=True) if out for p in group]
