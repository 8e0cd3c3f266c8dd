"""The unit cuts a run has found (`matcher.backends.unit_cuts`), kept for its later models.

A unit cut bounds how many of a unit's candidates fit there at once. It follows from the
unit's rows alone, so it holds for every allocation the rules allow, in any stage: one found
in a band's LP may be added to that band's CBC proof, whose relaxation it tightens, and to any
later band's. The pool keeps the cuts over the full model's variables and writes them over a
sub-model's when handed on, the fixed members' values moved into the bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from matcher.backends.linear import Row
from matcher.backends.submodel import SubModel


@dataclass
class CutPool:
    """Cuts over the full model's variables, each kept once."""

    rows: list[Row] = field(default_factory=list)
    _seen: set[tuple[bytes, int | None]] = field(default_factory=set)

    def add(self, rows: Iterable[Row], columns: np.ndarray) -> int:
        """Keep `rows`, written over a model whose variable i is `columns[i]` of the full
        model; returns how many were new."""
        added = 0
        for row in rows:
            idx = np.asarray(columns, dtype=np.int64)[row.idx]
            order = np.argsort(idx, kind="stable")
            kept = Row(idx[order], np.asarray(row.coef, dtype=np.int64)[order], row.lo, row.hi)
            key = (kept.idx.tobytes(), kept.hi)
            if key in self._seen:
                continue
            self._seen.add(key)
            self.rows.append(kept)
            added += 1
        return added

    def on(self, sub: SubModel) -> list[Row]:
        """The cuts over `sub`'s variables. What its fixed members contribute moves into the
        bound; a cut its free members cannot break (their bounds keep them within it) is
        left out."""
        if not self.rows:
            return []
        n_full = sub.fixed.size
        new_index = np.full(n_full, -1, dtype=np.int64)
        new_index[sub.free] = np.arange(sub.free.size)
        upper = sub.model.upper
        out: list[Row] = []
        for row in self.rows:
            where = new_index[row.idx]
            free = where >= 0
            fixed_part = int(row.coef[~free] @ sub.fixed[row.idx[~free]])
            if row.hi is None or not free.any():
                continue
            hi = row.hi - fixed_part
            coef = row.coef[free]
            reach = np.maximum(coef * upper[where[free]], coef * sub.model.lower[where[free]])
            if int(reach.sum()) <= hi:
                continue
            out.append(Row(where[free], coef, None, hi))
        return out

    def strengthen(self, sub: SubModel) -> tuple[SubModel, int]:
        """`sub` with the cuts that bind in it as rows of its model, and how many those are;
        the same variables, so its solutions expand as `sub`'s."""
        rows = self.on(sub)
        return SubModel(sub.model.with_rows(rows), sub.free, sub.fixed), len(rows)
