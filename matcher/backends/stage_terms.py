"""A stage seen from a sub-model: its objective over the sub-model's variables, and a start
without the placements the stage leaves out.

Every exact backend solves a stage on the sub-model of what the stage can move
(`matcher.backends.submodel`), so each needs the stage's coefficients there and a hint that
the sub-model accepts.
"""

from __future__ import annotations

import numpy as np

from matcher.backends.classes import Instance
from matcher.backends.reduced_model import ModelLayout, decode, encode


def stage_objective(coefs: np.ndarray, free: np.ndarray) -> np.ndarray:
    """A stage's objective (`coefs` over the full model's pairs) on a sub-model's variables."""
    objective = np.zeros(len(free), dtype=np.int64)
    pair_vars = free < len(coefs)
    objective[pair_vars] = coefs[free[pair_vars]]
    return objective


def stage_hint(
    inst: Instance, layout: ModelLayout, values: np.ndarray, open_pairs: np.ndarray
) -> np.ndarray:
    """The solution `values` without the placements a stage leaves out (a valid hint)."""
    chosen = values[: layout.n_pairs] > 0.5
    keep = np.flatnonzero(chosen & open_pairs)
    if keep.size == int(chosen.sum()):
        return values
    placements = decode(inst, layout, values)
    allowed_refs = {int(inst.pair_ref[p]) for p in keep}
    return encode(inst, layout, [a for a in placements if a[0] in allowed_refs])
