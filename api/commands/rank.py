"""`bedmatch rank PROBLEM.json --referral ID [--top K]`: where can this person go?"""

from __future__ import annotations

import argparse
from typing import Any

from api.cli import EXIT_OK, UsageError, add_output_option, at_least, write_output
from matcher.model import load_problem, load_solution
from matcher.ranking import build_context, rank


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "rank",
        help="rank every safe placement for one referral, and say why other units are excluded",
        description=(
            "Rank every bed-space this referral may safely take, best first, with the points "
            "and a sentence per soft term, the support team it would get, and what taking it "
            "would cost others waiting; list every excluded unit with all its reasons."
        ),
    )
    parser.add_argument("problem", help="problem JSON file ('-' for stdin)")
    parser.add_argument("--referral", required=True, metavar="ID", help="the referral to rank")
    parser.add_argument(
        "--top",
        type=at_least(1),
        metavar="K",
        help="keep the best K placements (default: all; cost to others for the first 10)",
    )
    parser.add_argument(
        "--batch",
        metavar="SOLUTION.json",
        help="a batch solution, to say whether it places this referral elsewhere",
    )
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.top is not None and args.top < 1:  # reachable only when called without argparse
        raise UsageError(f"--top must be 1 or more, got {args.top}")
    problem = load_problem(args.problem)
    batch = load_solution(args.batch) if args.batch else None
    context = build_context(problem, batch)
    cost_top = args.top if args.top is not None else 10
    write_output(rank(context, args.referral, top=args.top, cost_top=cost_top), args.output)
    return EXIT_OK
