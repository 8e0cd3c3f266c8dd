"""Each soft term's points on the model's (referral, unit) pairs only, for the breakdown of a
placement's score (`Assignment.terms`).

`constraints.scores.score` gives every term as a (referrals, units) grid: a city's six grids and
its travel minutes are about 310 MiB, held through the whole solve for the few thousand
placements it reports. On the pairs alone the full grids are a fifth of that; a term that is
already small (one value per referral, say) stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constraints.scores import Scores


@dataclass(frozen=True)
class PairScores:
    """The terms of `Scores`, in its order: (pairs,) values for the full grids, the term's own
    broadcastable array otherwise."""

    on_pairs: dict[str, np.ndarray]  # term -> (P,) its points on each pair
    small: dict[str, np.ndarray]  # term -> its array, broadcastable to (R, U)
    names: tuple[str, ...]

    @classmethod
    def of(cls, scores: Scores, pair_ref: np.ndarray, pair_unit: np.ndarray) -> PairScores:
        on_pairs: dict[str, np.ndarray] = {}
        small: dict[str, np.ndarray] = {}
        for name, values in scores.terms.items():
            if values.shape[0] > 1 and values.shape[1] > 1:
                on_pairs[name] = values[pair_ref, pair_unit]
            else:
                small[name] = values
        return cls(on_pairs, small, tuple(scores.terms))

    def terms(self, pair: int, referral: int, unit: int) -> dict[str, int]:
        """The points of each term for `pair`, which is (`referral`, `unit`): as
        `Scores.pair_terms(referral, unit)` gives them."""
        out: dict[str, int] = {}
        for name in self.names:
            if name in self.on_pairs:
                out[name] = int(self.on_pairs[name][pair])
                continue
            values = self.small[name]
            r = referral if values.shape[0] > 1 else 0
            out[name] = int(values[r, unit if values.shape[1] > 1 else 0])
        return out
