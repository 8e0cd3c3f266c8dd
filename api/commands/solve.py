"""`bedmatch solve PROBLEM.json [--backend cpsat|pulp|greedy] [--time-limit S]`: a Solution."""

from __future__ import annotations

import argparse
from typing import Any

from api.cli import EXIT_OK, UsageError, add_output_option, at_least, write_output
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
    write_output(solve(problem, args.backend, args.time_limit, **options), args.output)
    return EXIT_OK
