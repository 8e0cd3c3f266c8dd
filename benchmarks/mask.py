"""The eligibility-mask benchmark (issue 3): masks with reasons, against plain per-pair loops.

Timed: `eligibility(build_tables(problem), reasons=True)`, the whole path from a validated
problem to the (referral x bed-space) mask and every reason bit; the median of `repeat` runs.
Memory: the peak of numpy and Python allocations during one more run under `tracemalloc`,
and the process's peak resident memory (`ru_maxrss`, in the isolated child the runner uses).

The baseline is the same question asked the plain way: every rule of `PAIR_RULES` on every
`build_places(problem)` place, collecting the names of those that fail (what `reasons=True`
yields), for a sample of referrals spread over the list, extrapolated to all of them. It runs
in the same process on the same instance, so the ratio holds on a noisy machine; the sample
is also compared with the mask, pair by pair, so a fast but wrong mask cannot pass.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from typing import Any

import numpy as np

from benchmarks.families import MASK_TARGET_BYTES, MASK_TARGET_SECONDS
from benchmarks.machine import peak_rss_bytes
from constraints import PAIR_RULES
from constraints.eligibility import eligibility
from constraints.rule import build_places
from constraints.tables import build_tables
from fixtures.generator import generate
from matcher.model import Problem
from matcher.process_memory import resident_bytes


def time_mask(problem: Problem) -> float:
    """Seconds for one mask with reasons, tables included."""
    start = time.perf_counter()
    result = eligibility(build_tables(problem), reasons=True)
    elapsed = time.perf_counter() - start
    del result
    return elapsed


def traced_peak_bytes(problem: Problem) -> int:
    """Peak bytes allocated (numpy buffers included) while building one mask with reasons."""
    gc.collect()
    tracemalloc.start()
    try:
        result = eligibility(build_tables(problem), reasons=True)
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return peak


def sample_referrals(count: int, sample: int) -> list[int]:
    """`sample` referral indices spread evenly over `count`, first and last included."""
    if count == 0 or sample <= 0:
        return []
    return sorted({int(i) for i in np.linspace(0, count - 1, num=min(sample, count))})


def plain_per_pair(problem: Problem, referral_indices: list[int]) -> dict[str, Any]:
    """Every pair rule in plain Python for the sampled referrals against every place."""
    start = time.perf_counter()
    places = build_places(problem)
    places_seconds = time.perf_counter() - start

    failed: dict[int, list[set[str]]] = {}
    start = time.perf_counter()
    for r in referral_indices:
        referral = problem.referrals[r]
        failed[r] = [
            {rule.name for rule in PAIR_RULES if not rule(referral, place)} for place in places
        ]
    loop_seconds = time.perf_counter() - start
    return {"places_seconds": places_seconds, "loop_seconds": loop_seconds, "failed": failed}


def sample_agrees(problem: Problem, failed: dict[int, list[set[str]]]) -> bool:
    """Whether the mask gives, for each sampled pair, exactly the rules the loops found."""
    result = eligibility(problem, reasons=True)
    for r, per_bed in failed.items():
        for b, plain in enumerate(per_bed):
            if {rule.name for rule in result.rules_failed(r, b)} != plain:
                return False
            if bool(result.allowed[r, b]) != (not plain):
                return False
    return True


def measure(problem: Problem, *, repeat: int = 5, baseline_sample: int = 8) -> dict[str, Any]:
    """The mask's median time and memory beside the extrapolated plain-Python baseline."""
    n_refs, n_beds = len(problem.referrals), len(problem.bedspaces)
    rss_before = resident_bytes()
    times = [time_mask(problem) for _ in range(max(1, repeat))]
    rss_peak_after_mask = peak_rss_bytes()
    traced = traced_peak_bytes(problem)

    sample = sample_referrals(n_refs, baseline_sample)
    plain = plain_per_pair(problem, sample)
    per_referral = plain["loop_seconds"] / len(sample) if sample else 0.0
    baseline_seconds = plain["places_seconds"] + per_referral * n_refs
    median = statistics.median(times)
    return {
        "referrals": n_refs,
        "beds": n_beds,
        "pairs": n_refs * n_beds,
        "repeat": len(times),
        "seconds": times,
        "median_s": median,
        "min_s": min(times),
        "max_s": max(times),
        "traced_peak_bytes": traced,
        "process_peak_rss_bytes": rss_peak_after_mask,
        "rss_before_bytes": rss_before,
        "baseline_sample_referrals": len(sample),
        "baseline_places_s": plain["places_seconds"],
        "baseline_per_referral_s": per_referral,
        "baseline_extrapolated_s": baseline_seconds,
        "speedup": baseline_seconds / median if median > 0 else None,
        "sample_agrees": sample_agrees(problem, plain["failed"]),
        "target_s": MASK_TARGET_SECONDS,
        "target_bytes": MASK_TARGET_BYTES,
    }


def run(
    *,
    referrals: int = 5_000,
    beds: int = 10_000,
    seed: int = 5001,
    stress: str | None = None,
    repeat: int = 5,
    baseline_sample: int = 8,
) -> dict[str, Any]:
    """Generate the instance, then `measure` it; the record names the instance."""
    problem = generate(seed, referrals, beds, stress=stress)
    record = measure(problem, repeat=repeat, baseline_sample=baseline_sample)
    record.update(seed=seed, stress=stress, size=f"{referrals}x{beds}")
    return record


def meets_targets(record: dict[str, Any]) -> bool:
    """Issue 3's targets: median within the time target and process peak within the memory one.

    Only meaningful at the target size (5,000 x 10,000); smaller runs pass trivially.
    """
    return (
        record["median_s"] <= record["target_s"]
        and record["process_peak_rss_bytes"] <= record["target_bytes"]
    )
