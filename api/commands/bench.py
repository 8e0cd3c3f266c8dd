"""`bedmatch bench`: run a benchmark family, write results.json and results.md, judge the run.

Exit 0 when the run shows no regression, 1 when it does (a broken hard rule, CP-SAT and PuLP
disagreeing, a proven gap above the target, a crashed measurement), 2 on bad arguments.
Absolute times never fail a run. A one-line JSON summary goes to stdout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from api.cli import EXIT_FINDINGS, EXIT_OK, UsageError, at_least, write_output
from benchmarks.families import FAMILIES
from benchmarks.runner import RESULTS_JSON, RESULTS_MD, BenchOptions, run_bench
from benchmarks.solves import BACKENDS
from benchmarks.verdict import GAP_TARGET


def register(sub: Any) -> argparse.ArgumentParser:
    families = ", ".join(f"{name} ({f.description})" for name, f in FAMILIES.items())
    parser: argparse.ArgumentParser = sub.add_parser(
        "bench",
        help="benchmark a family of seeded instances (exit 1 on a correctness regression)",
        description=(
            "Measure the eligibility mask, every backend on every instance of a family, and "
            "the contributed rank/simulation/service scripts; write results.json and "
            f"results.md. Families: {families}."
        ),
    )
    parser.add_argument("--family", default="smoke", help="instance family (default: smoke)")
    parser.add_argument(
        "--repeat", type=at_least(1), help="solves per instance and backend (default: the family's)"
    )
    parser.add_argument(
        "-o", "--output-dir", default="bench", metavar="DIR", help="where results go (bench/)"
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKENDS),
        help=f"comma-separated backends (default: {','.join(BACKENDS)})",
    )
    parser.add_argument(
        "--time-limit", type=float, metavar="S", help="seconds per solve (default: the family's)"
    )
    parser.add_argument(
        "--gap-target",
        type=float,
        default=GAP_TARGET,
        help=f"largest proven gap an exact backend may end with (default {GAP_TARGET})",
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="also write benchmarks/RESULTS.json and its table benchmarks/RESULTS.md",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def options_from(args: argparse.Namespace) -> BenchOptions:
    """Validated runner options; a bad argument is a UsageError naming it."""
    if args.family not in FAMILIES:
        raise UsageError(f"--family: unknown family {args.family!r}; known: {', '.join(FAMILIES)}")
    backends = tuple(name.strip() for name in args.backends.split(",") if name.strip())
    unknown = [name for name in backends if name not in BACKENDS]
    if unknown or not backends:
        raise UsageError(
            f"--backends: unknown backend {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(BACKENDS)}"
        )
    if args.repeat is not None and args.repeat < 1:
        raise UsageError("--repeat: must be at least 1")
    if args.time_limit is not None and not args.time_limit > 0:
        raise UsageError("--time-limit: must be a positive number of seconds")
    if not args.gap_target >= 0:
        raise UsageError("--gap-target: must not be negative")
    return BenchOptions(
        family=args.family,
        output_dir=Path(args.output_dir),
        repeat=args.repeat,
        time_limit_s=args.time_limit,
        backends=backends,
        gap_target=args.gap_target,
        progress=not args.no_progress,
        publish=args.publish,
    )


def run(args: argparse.Namespace) -> int:
    options = options_from(args)
    results = run_bench(options)
    for failure in results["failures"]:
        print(f"bedmatch bench: FAIL: {failure}", file=sys.stderr)
    write_output(
        {
            "ok": results["ok"],
            "failures": results["failures"],
            "results": str(options.output_dir / RESULTS_JSON),
            "table": str(options.output_dir / RESULTS_MD),
        },
        None,
    )
    return EXIT_OK if results["ok"] else EXIT_FINDINGS
