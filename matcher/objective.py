"""The lexicographic objective of a batch allocation, and how its value and bound are reported.

DESIGN.md, Objective: placements by priority band first — no number of lower-band placements
is ever worth one more higher-band placement — then the weighted soft points of `score()`.
So the objective is a vector, compared component by component:

    (placed in band 5, placed in band 4, ..., placed in band 1, soft points)

Exact backends solve it in stages, one component at a time, each maximised with the earlier
ones held at their proven optimum (a single weighted objective would need weights of
(referrals + 1) per band: about 5,000^5 × 8·10^6 points on the large instances, far beyond
int64 and numerically hopeless for an LP). A stage that is not proven optimal when time runs
out ends the staging (`matcher.backends.stage_loop`, one loop for every exact backend).

A `Solution` reports:
- `placed_by_priority`: the band components;
- `objective`: the soft points of the allocation;
- `bound`: a proven upper bound on the soft points of any allocation that is lexicographically
  at least as good, when every band is proven optimal; otherwise the trivial bound (every
  placeable referral in their best unit);
- `placed_bound_by_priority`: a proven upper bound per band (the vector bound: a band below the
  first unproven one carries its trivial bound);
- `gap`: the relative gap of the first component that is not proven optimal,
  ``(bound - value) / max(bound, 1)``; 0 when the whole vector is proven optimal;
- `soft_bound_given_bands`: a proven upper bound on the soft points of any allocation that
  places at least as many as this one in every band, when the backend proved one (None
  otherwise). With every band proven it is `bound`; with a band open it still says how far
  the soft points are from the best the bands as placed allow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BANDS = (5, 4, 3, 2, 1)
SOFT = "soft"
INF = float("inf")


def band_stage(band: int) -> str:
    return f"band_{band}"


@dataclass(frozen=True)
class Stage:
    name: str
    # Integer weight of each (referral, unit) pair variable: a band's are 0 or 1, as int8 (as
    # int64, a city's five bands held 108 MiB); products with int64 values are int64.
    coefficients: np.ndarray
    # Pairs the stage needs. Every coupled rule only limits (fewer placements never break
    # one, a couple leaves together), so the band-b stage may drop every referral below band
    # b: they cannot raise its count, and earlier stages are held by constraints.
    active: np.ndarray


def stages(
    pair_priority: np.ndarray, pair_points: np.ndarray, pair_group_priority: np.ndarray
) -> list[Stage]:
    """The stages in lexicographic order: each band with a candidate pair, then soft points.

    `pair_group_priority` is the highest priority among a pair's referral and the people it
    moves in with, so a couple stays whole in every stage that needs one of them.
    """
    out = []
    for band in BANDS:
        mask = pair_priority == band
        if mask.any():
            out.append(Stage(band_stage(band), mask.astype(np.int8), pair_group_priority >= band))
    out.append(Stage(SOFT, pair_points.astype(np.int64), np.ones(len(pair_points), dtype=bool)))
    return out


@dataclass(frozen=True)
class Report:
    objective: float
    bound: float
    gap: float
    placed_by_priority: dict[str, int]
    placed_bound_by_priority: dict[str, int]
    proven: bool
    soft_bound_given_bands: float | None


def report(
    placed_by_band: dict[int, int],
    soft_points: int,
    proven_bounds: dict[str, int],
    trivial_bounds: dict[str, int],
) -> Report:
    """Combine achieved values with proven stage bounds into the reported figures.

    `proven_bounds` holds a bound for each stage a backend finished or stopped in, assuming
    every earlier stage was held at its value; `trivial_bounds` holds the bound that needs no
    solve (placeable referrals per band; best unit per referral for soft points).
    """
    values = {band_stage(b): placed_by_band.get(b, 0) for b in BANDS}
    values[SOFT] = soft_points
    bounds: dict[str, int] = {}
    gap = 0.0
    open_found = False
    for name in [*(band_stage(b) for b in BANDS), SOFT]:
        if open_found or name not in proven_bounds:
            bound = max(trivial_bounds.get(name, 0), values[name])
        else:
            bound = max(
                min(proven_bounds[name], trivial_bounds.get(name, proven_bounds[name])),
                values[name],
            )
        bounds[name] = bound
        if not open_found and bound > values[name]:
            open_found = True
            gap = (bound - values[name]) / max(bound, 1)
    return Report(
        objective=float(soft_points),
        bound=float(bounds[SOFT]),
        gap=gap,
        placed_by_priority={str(b): placed_by_band.get(b, 0) for b in BANDS},
        placed_bound_by_priority={str(b): bounds[band_stage(b)] for b in BANDS},
        proven=not open_found,
        soft_bound_given_bands=(
            float(max(min(proven_bounds[SOFT], trivial_bounds.get(SOFT, INF)), soft_points))
            if SOFT in proven_bounds
            else None
        ),
    )
