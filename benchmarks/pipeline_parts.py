"""Which parts of the batch solver's pipeline a family needs: each part switched off in turn.

`python -m benchmarks.pipeline_parts [--family varied_medium] [--seeds 3004,3005]
[--time-limit 25] [--parts unit_cuts,proof_cuts] [-o DIR]` solves every chosen instance of the
family with the whole pipeline and again with each part off (a `SolverSettings` field), one
solve after the other in the same run, each in a child process of its own. Per part it reports
how many instances had every band proven and when (median and 90th percentile, an instance
never proven counting as never), the soft gap, the largest peak memory, and against the whole
pipeline on the same instance how many solves ended lexicographically better, the same or
worse (bands 5 to 1, then the soft points). A part whose removal loses nothing on any family
is a candidate for removal; one whose removal loses proofs or placements is needed.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.families import InstanceSpec, add_family_arguments, chosen_seeds, family
from benchmarks.family_summary import (
    BANDS,
    every_band_proven,
    nearest_rank,
    proof_seconds,
    soft_gap,
)
from benchmarks.machine import git_sha, machine_info, run_isolated
from benchmarks.output import write_figures
from benchmarks.solves import bands_proven_s, broken_rules, checker_fields, summarise

# Each part of the pipeline, and the settings that switch it off.
PARTS: dict[str, dict[str, Any]] = {
    "lp_guide": {"lp_guide": False},
    "unit_bounds": {"unit_bounds": False},
    "unit_cuts": {"unit_cuts": False},
    "proof_cuts": {"proof_cuts": False},
    "race_band_proofs": {"race_band_proofs": False},
    "race_soft_pieces": {"race_soft_pieces": False},
    "background_proofs": {"background_proofs": 0},
    "cbc_band_prover": {"band_prover": "cpsat"},
    "cbc_band_mip": {"band_mip_solver": "highs"},
    "soft_lp_ahead": {"soft_lp_ahead_share": 0.0},
}
WHOLE = "whole pipeline"
MIB = 1 << 20


def solve_with(spec: InstanceSpec, time_limit_s: float, options: dict[str, Any]) -> dict[str, Any]:
    """One CP-SAT solve of the instance with `options` as settings (runs in a child)."""
    from matcher.solve import solve

    problem = spec.build()
    started = time.perf_counter()
    solution = solve(problem, "cpsat", time_limit_s, **options)
    seconds = time.perf_counter() - started
    return {
        **summarise(problem, solution),
        "median_s": seconds,
        "bands_proven_s": [bands_proven_s(solution)],
        **checker_fields(broken_rules(problem, solution)),
    }


def lexicographic(record: dict[str, Any]) -> tuple[float, ...]:
    placed = record["placed_by_priority"]
    return (*(float(placed.get(band, 0)) for band in BANDS), float(record["soft_objective"]))


def run(
    family_name: str, seeds: set[int] | None, time_limit_s: float, parts: list[str]
) -> dict[str, Any]:
    chosen = [s for s in family(family_name).instances if seeds is None or s.seed in seeds]
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    records = []
    for spec in chosen:
        for part in [WHOLE, *parts]:
            options = PARTS.get(part, {})
            record = run_isolated(
                solve_with,
                4 * time_limit_s + 120,
                spec=spec,
                time_limit_s=time_limit_s,
                options=options,
            )
            records.append({"instance": spec.name, "seed": spec.seed, "part": part, **record})
            print(
                f"{spec.name} {part}: {record['placed_by_priority']} "
                f"proven={every_band_proven(record)}",
                flush=True,
            )
    return {
        "family": family_name,
        "time_limit_s": time_limit_s,
        "parts": {part: PARTS.get(part, {}) for part in [WHOLE, *parts]},
        "git_sha": git_sha(),
        "machine": machine_info(),
        "started": started,
        "records": records,
        "summary": summarise_parts(records),
    }


def summarise_parts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per part: its proofs, soft gaps and peak, and how it compares with the whole
    pipeline on the same instances."""
    whole = {r["instance"]: r for r in records if r["part"] == WHOLE}
    rows = []
    for part in dict.fromkeys(r["part"] for r in records):
        mine = [r for r in records if r["part"] == part]
        proofs = [proof_seconds(r) for r in mine]
        gaps = [g for g in (soft_gap(r) for r in mine) if g is not None]
        better = same = worse = 0
        for r in mine:
            base = lexicographic(whole[r["instance"]])
            if lexicographic(r) > base:
                better += 1
            elif lexicographic(r) < base:
                worse += 1
            else:
                same += 1
        rows.append(
            {
                "part_off": part,
                "instances": len(mine),
                "every_band_proven": sum(1 for t in proofs if t < math.inf),
                "proof_s_median": nearest_rank(proofs, 0.5),
                "proof_s_p90": nearest_rank(proofs, 0.9),
                "soft_gap_median": statistics.median(gaps) if gaps else None,
                "soft_gap_max": max(gaps) if gaps else None,
                "better": better,
                "same": same,
                "worse": worse,
                "peak_mib_max": max((r.get("peak_rss_bytes") or 0) for r in mine) / MIB,
                "tree_mib_max": max((r.get("peak_tree_pss_bytes") or 0) for r in mine) / MIB,
                "checker_failures": sum(1 for r in mine if r["checker"] != "pass"),
            }
        )
    return rows


def _seconds(value: float) -> str:
    return "not proven" if math.isinf(value) else f"{value:.1f}"


def _share(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"


def table(result: dict[str, Any]) -> str:
    lines = [
        f"# Pipeline parts on `{result['family']}` ({result['time_limit_s']:.0f} s a solve)",
        "",
        f"Commit `{result['git_sha']}`, started {result['started']}. Each row is the whole "
        "pipeline with one part switched off; better/same/worse compare each solve with the "
        "whole pipeline's on the same instance, bands 5 to 1 then the soft points. Proof "
        "times by nearest rank, an instance never proven counting as never.",
        "",
        "| part off | instances | every band proven | proof s (median) | proof s (p90) "
        "| soft gap (median) | soft gap (max) | better | same | worse | peak MiB | tree MiB "
        "| checker failures |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["summary"]:
        lines.append(
            f"| {row['part_off']} | {row['instances']} | {row['every_band_proven']} "
            f"| {_seconds(row['proof_s_median'])} | {_seconds(row['proof_s_p90'])} "
            f"| {_share(row['soft_gap_median'])} | {_share(row['soft_gap_max'])} "
            f"| {row['better']} | {row['same']} | {row['worse']} "
            f"| {row['peak_mib_max']:,.0f} | {row['tree_mib_max']:,.0f} "
            f"| {row['checker_failures']} |"
        )
    lines += [
        "",
        "| instance | part off | placed 5/4/3/2/1 | bound 5/4/3/2/1 | proven s | soft gap |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["records"]:
        placed = "/".join(str(r["placed_by_priority"].get(b, 0)) for b in BANDS)
        bounds = r.get("placed_bound_by_priority") or {}
        bound = "/".join(str(bounds.get(b, "?")) for b in BANDS)
        lines.append(
            f"| {r['instance']} | {r['part']} | {placed} | {bound} "
            f"| {_seconds(proof_seconds(r))} | {_share(soft_gap(r))} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_family_arguments(parser)
    parser.add_argument("--time-limit", type=float, default=25.0)
    parser.add_argument("--parts", default=",".join(PARTS), help=f"of {', '.join(PARTS)}")
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(
            f"--parts: unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}"
        )
    result = run(args.family, chosen_seeds(args.seeds), args.time_limit, parts)
    write_figures(result, table(result), args.output, "pipeline_parts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
