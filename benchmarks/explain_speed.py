"""How fast `bedmatch explain` answers: one person on a large instance, the whole list on a
medium one, over several seeds.

`python -m benchmarks.explain_speed [-o DIR] [--seeds 5001,5002,5003]` (or `run(...)` from the
benchmark runner) measures, for each seed of `fixtures.generator.generate`:

- one person (5,000 × 10,000): `explain_referral(context, id)` in-process, the context (ranking
  context and change dates) built once, on a seeded sample of referrals, every referral and
  those with no safe placement apart (target: p50 ≤ 50 ms, on the random sample);
- the whole list (1,500 × 3,000): `explain_all(problem)` end to end, every candidate change
  screened, the best re-solved, three with CP-SAT at 5 s each (target: ≤ 60 s).

Medians over the seeds are what the targets are judged on. It writes `explain_speed.json`
(figures per seed, medians, git SHA, machine, load average before and after) and
`explain_speed.md`, a table generated from the JSON.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from benchmarks.output import write_figures
from fixtures.generator import generate
from matcher.explain_portfolio import explain_all
from matcher.explain_referral import ExplainContext, explain_referral

TARGET_ONE_P50_MS = 50.0
TARGET_ALL_S = 60.0
SEEDS = (5001, 5002, 5003)


def _percentiles(ms: list[float]) -> dict[str, float | int]:
    if not ms:
        return {"n": 0}
    values = np.asarray(ms)
    return {
        "n": len(ms),
        "p50_ms": float(np.percentile(values, 50)),
        "p90_ms": float(np.percentile(values, 90)),
        "p99_ms": float(np.percentile(values, 99)),
        "max_ms": float(values.max()),
    }


def one_person(seed: int, referrals: int, beds: int, samples: int) -> dict[str, Any]:
    problem = generate(seed, referrals, beds)
    started = time.perf_counter()
    context = ExplainContext.build(problem)
    build_s = time.perf_counter() - started
    ids = [r.id for r in problem.referrals]
    sample = random.Random(seed).sample(ids, min(samples, len(ids)))
    # Few people have no safe placement at all, and theirs is the longer answer: measured
    # on their own too (those the ranking context finds no eligible bed-space for).
    nowhere = [ids[r] for r in np.flatnonzero(context.ranking.eligible_total == 0).tolist()]
    nowhere = random.Random(seed + 2).sample(nowhere, min(samples, len(nowhere)))
    others = [rid for rid in ids if rid not in set(sample) | set(nowhere)]
    for rid in random.Random(seed + 1).sample(others, min(20, len(others))):
        explain_referral(context, rid)  # a service has answered others before
    gc.collect()
    gc.freeze()
    try:
        every = [_time_one(context, rid) for rid in sample]
        unplaceable = [_time_one(context, rid) for rid in nowhere]
    finally:
        gc.unfreeze()
    return {
        "seed": seed,
        "referrals": referrals,
        "beds": beds,
        "context_build_s": build_s,
        "every": _percentiles(every),
        "unplaceable": _percentiles(unplaceable),
    }


def _time_one(context: ExplainContext, referral_id: str) -> float:
    started = time.perf_counter()
    explain_referral(context, referral_id)
    return (time.perf_counter() - started) * 1000.0


def whole_list(seed: int, referrals: int, beds: int, time_limit_s: float) -> dict[str, Any]:
    problem = generate(seed, referrals, beds)
    started = time.perf_counter()
    answer = explain_all(problem, time_limit_s=time_limit_s)
    return {
        "seed": seed,
        "referrals": referrals,
        "beds": beds,
        "seconds": time.perf_counter() - started,
        "screened": answer.screened,
        "changes": len(answer.changes),
        "proven": sum(effect.proven for effect in answer.changes),
        "unplaceable": sum(len(group.referrals) for group in answer.unplaceable),
    }


def run(
    seeds: Sequence[int] = SEEDS,
    referrals: int = 5000,
    beds: int = 10000,
    all_referrals: int = 1500,
    all_beds: int = 3000,
    samples: int = 100,
    exact_time_limit_s: float = 5.0,
    quick: bool = False,
    seed: int | None = None,
) -> dict[str, Any]:
    """Measure and return the figures as a JSON-ready dict. `quick` (the runner's small
    families): one seed, the given size for both parts, one-second CP-SAT solves."""
    if quick:
        seeds = (seed if seed is not None else seeds[0],)
        all_referrals, all_beds, exact_time_limit_s, samples = referrals, beds, 1.0, 20
    from benchmarks.machine import git_sha, machine_info

    load_before = list(os.getloadavg())
    ones = [one_person(s, referrals, beds, samples) for s in seeds]
    alls = [whole_list(s, all_referrals, all_beds, exact_time_limit_s) for s in seeds]
    one_p50 = statistics.median(measured["every"]["p50_ms"] for measured in ones)
    all_s = statistics.median(measured["seconds"] for measured in alls)
    return {
        "benchmark": "explain_speed",
        "seeds": list(seeds),
        "git_sha": git_sha(),
        "machine": machine_info(),
        "load_average_before": load_before,
        "load_average_after": list(os.getloadavg()),
        "one_person": ones,
        "whole_list": alls,
        "median_one_p50_ms": one_p50,
        "median_whole_list_s": all_s,
        "target": {"one_p50_ms": TARGET_ONE_P50_MS, "whole_list_s": TARGET_ALL_S},
        "meets_target": one_p50 <= TARGET_ONE_P50_MS and all_s <= TARGET_ALL_S,
    }


def markdown(result: dict[str, Any]) -> str:
    """The Markdown table, generated from the JSON result and nothing else."""
    lines = [
        "# `bedmatch explain`: one person and the whole list",
        "",
        "| seed | one person: size | context s | p50 ms | p90 ms | max ms "
        "| unplaceable p50 ms (n) | whole list: size | s | changes screened | proven |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    for one, whole in zip(result["one_person"], result["whole_list"], strict=True):
        every, alone = one["every"], one["unplaceable"]
        alone_text = f"{alone['p50_ms']:.1f} ({alone['n']})" if alone["n"] else "– (0)"
        lines.append(
            f"| {one['seed']} | {one['referrals']:,} × {one['beds']:,} "
            f"| {one['context_build_s']:.1f} | {every['p50_ms']:.1f} | {every['p90_ms']:.1f} "
            f"| {every['max_ms']:.1f} | {alone_text} "
            f"| {whole['referrals']:,} × {whole['beds']:,} | {whole['seconds']:.1f} "
            f"| {whole['screened']} | {whole['proven']} of {whole['changes']} |"
        )
    target = result["target"]
    verdict = "met" if result["meets_target"] else "NOT met"
    before = ", ".join(f"{x:.2f}" for x in result["load_average_before"])
    after = ", ".join(f"{x:.2f}" for x in result["load_average_after"])
    lines += [
        "",
        f"Medians over the seeds: one person p50 {result['median_one_p50_ms']:.1f} ms "
        f"(target ≤ {target['one_p50_ms']:g} ms), the whole list "
        f"{result['median_whole_list_s']:.1f} s (target ≤ {target['whole_list_s']:g} s): "
        f"**{verdict}**. Load average before {before}, after {after}, on "
        f"{result['machine']['cores']} cores. Commit `{result['git_sha'][:12]}`.",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="bench-out", help="directory for JSON and MD")
    parser.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args(argv)
    seeds = tuple(int(s) for s in args.seeds.split(",") if s.strip())
    result = run(seeds=seeds, samples=args.samples)
    write_figures(result, markdown(result), args.output, "explain_speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
