"""A family read as a distribution: proofs counted as never when they did not happen."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.family_summary import nearest_rank, summarise
from benchmarks.report import render_markdown

PROVEN = {"5": 1, "4": 2, "3": 3, "2": 4, "1": 5}


def solve(seconds: float | None, **fields: Any) -> dict[str, Any]:
    bounds = dict(PROVEN) if seconds is not None else PROVEN | {"1": 6}
    return {
        "instance": f"i{fields.pop('n', 0)}",
        "backend": "cpsat",
        "outcome": "measured",
        "placed_by_priority": dict(PROVEN),
        "placed_bound_by_priority": bounds,
        "bands_proven_s": [seconds],
        "soft_objective": 99.0,
        "soft_bound_given_bands": 100.0,
        "peak_rss_bytes": 1 << 30,
        "violations": 0,
        "size": "100x200",
        "status": "optimal" if seconds is not None else "feasible",
        "median_s": 10.0,
        "min_s": 10.0,
        "max_s": 10.0,
        "repeat": 1,
        "gap": 0.0,
        **fields,
    }


def test_unproven_instances_count_as_never_in_the_percentiles() -> None:
    records = [solve(float(n), n=n) for n in range(1, 9)] + [solve(None, n=9), solve(None, n=10)]
    (row,) = summarise(records)
    assert row["instances"] == 10 and row["every_band_proven"] == 8
    assert row["proof_s_median"] == 5.0
    assert math.isinf(row["proof_s_p90"])  # two of ten never proven
    assert row["soft_gap_median"] == 0.01 and row["soft_gap_within_target"] == 10
    table = render_markdown({"family": "f", "solves": records})
    assert "| cpsat | 10 | 8 of 10 | 5.0 | not proven |" in table


def test_nearest_rank_is_always_one_of_the_values() -> None:
    values = [1.0, 2.0, 3.0, math.inf]
    assert nearest_rank(values, 0.5) == 2.0
    assert nearest_rank(values, 0.9) == math.inf
    assert nearest_rank([4.0], 0.9) == 4.0


def test_slack_solves_count_those_that_reached_the_matching() -> None:
    records = [
        solve(1.0, n=1, placed=15, matching_optimum=15),
        solve(1.0, n=2, placed=14, matching_optimum=15),
    ]
    (row,) = summarise(records)
    assert (row["slack_instances"], row["matching_reached"]) == (2, 1)


def test_a_family_of_several_sizes_gets_no_summary() -> None:
    records = [solve(1.0, n=1), solve(2.0, n=2, size="1500x3000")]
    assert "## Over the family" not in render_markdown({"family": "all", "solves": records})
    same_size = [solve(1.0, n=1), solve(2.0, n=2)]
    assert "## Over the family" in render_markdown({"family": "f", "solves": same_size})
