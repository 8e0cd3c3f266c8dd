"""`bedmatch solve PROBLEM.json [--backend cpsat|pulp|greedy] [--time-limit S] [--quiet]`: a
Solution on stdout (or `-o`), each stage's progress on stderr."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli import EXIT_OK, UsageError, add_output_option, at_least, write_output
from api.commands.stage_progress import stage_progress
from matcher.model import load_problem
from matcher.solve import BACKENDS, solve


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "solve",
        help="allocate referrals to bed-spaces and support teams",
        description="Allocate referrals to bed-spaces and support teams: priority bands first, "
        "then the weighted soft terms, with a proven bound and reasons for everyone unplaced.",
    )
    parser.add_argument("problem", help="problem JSON file ('-' for stdin)")
    parser.add_argument(
        "--backend", default="cpsat", help=f"solver backend: {' | '.join(BACKENDS)} (cpsat)"
    )
    parser.add_argument(
        "--time-limit", type=float, default=30.0, metavar="S", help="seconds to search (30)"
    )
    parser.add_argument(
        "--num-workers", type=at_least(1), default=None, metavar="N", help="CP-SAT search workers"
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress on stderr (each stage's best value, bound and time as it runs)",
    )
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.backend not in BACKENDS:
        raise UsageError(
            f"--backend: unknown backend {args.backend!r}; choose {', '.join(BACKENDS)}"
        )
    if not args.time_limit >= 0:
        raise UsageError(f"--time-limit: must be a number of seconds ≥ 0, got {args.time_limit}")
    options = {}
    if args.num_workers is not None:
        if args.backend != "cpsat" or args.num_workers < 1:
            raise UsageError("--num-workers: a positive number, for the cpsat backend only")
        options["num_workers"] = args.num_workers
    problem = load_problem(args.problem)
    with stage_progress(sys.stderr, shown=not args.quiet):
        solution = solve(problem, args.backend, args.time_limit, **options)
    write_output(solution, args.output)
    return EXIT_OK
