"""A family's solves read as a distribution: per backend, over all of its instances.

Per backend: how many instances had every band proven, the median and 90th percentile of the
time at which they were (an instance never proven counts as never, so the percentile is
"not proven" when more than a tenth were not), the soft gap's median and worst, the largest
peak memory, the checker's verdicts and, on slack instances, how many reached the maximum
matching found outside the solver.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from typing import Any

import numpy as np

BANDS = ("5", "4", "3", "2", "1")
SOFT_GAP_TARGET = 0.01


def every_band_proven(record: dict[str, Any]) -> bool:
    """Each band's count equals its proven bound."""
    bounds = record.get("placed_bound_by_priority") or {}
    placed = record.get("placed_by_priority") or {}
    if not bounds:
        return False
    return all(bounds.get(band, 0) <= placed.get(band, 0) for band in BANDS)


def proof_seconds(record: dict[str, Any]) -> float:
    """When the solve had every band proven (the median over its repeats); infinity if it
    never had."""
    if not every_band_proven(record):
        return math.inf
    times = [t for t in record.get("bands_proven_s") or [] if t is not None]
    return statistics.median(times) if times else float(record.get("median_s") or math.inf)


def soft_gap(record: dict[str, Any]) -> float | None:
    bound, soft = record.get("soft_bound_given_bands"), record.get("soft_objective")
    if bound is None or soft is None:
        return None
    return max(0.0, (bound - soft) / max(abs(bound), 1.0))


def nearest_rank(values: list[float], share: float) -> float:
    """The `share` quantile by nearest rank: always one of the values, so never a time
    between a proof and no proof."""
    return float(np.quantile(np.array(values), share, method="inverted_cdf"))


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per backend over the measured records of one family."""
    by_backend: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record.get("outcome") == "measured":
            by_backend[record["backend"]].append(record)
    rows = []
    for backend, measured in by_backend.items():
        proofs = [proof_seconds(r) for r in measured]
        gaps = [g for g in (soft_gap(r) for r in measured) if g is not None]
        slack = [r for r in measured if r.get("matching_optimum") is not None]
        rows.append(
            {
                "backend": backend,
                "instances": len(measured),
                "every_band_proven": sum(1 for t in proofs if t < math.inf),
                "proof_s_median": nearest_rank(proofs, 0.5),
                "proof_s_p90": nearest_rank(proofs, 0.9),
                "soft_gaps": len(gaps),
                "soft_gap_median": statistics.median(gaps) if gaps else None,
                "soft_gap_max": max(gaps) if gaps else None,
                "soft_gap_within_target": sum(1 for g in gaps if g <= SOFT_GAP_TARGET),
                "peak_bytes_max": max((r.get("peak_rss_bytes") or 0) for r in measured),
                "worker_peak_bytes_max": max(
                    (r.get("peak_rss_children_bytes") or 0) for r in measured
                ),
                "tree_peak_bytes_max": max((r.get("peak_tree_pss_bytes") or 0) for r in measured),
                "checker_passed": sum(1 for r in measured if not r.get("violations")),
                "slack_instances": len(slack),
                "matching_reached": sum(
                    1 for r in slack if r.get("placed") == r.get("matching_optimum")
                ),
            }
        )
    return sorted(rows, key=lambda row: row["backend"])
