"""`bedmatch explain PROBLEM.json --referral ID`: what stands between a person and a place."""

from __future__ import annotations

import argparse
from typing import Any

from api.cli import EXIT_OK, UsageError, add_output_option, at_least, write_output
from matcher.explain_referral import DEFAULT_NEAREST, ExplainContext, explain_referral
from matcher.model import load_problem, load_solution


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "explain",
        help="what would make an unplaced person placeable: facts, never a way round a rule",
        description=(
            "For one referral: the nearest places with exactly the hard rules that block "
            "them, the earliest date a bed-space passing every rule frees up, and who of "
            "equal or higher priority would take the places they may take; a referral the "
            "ranking can place gets its top placements."
        ),
    )
    parser.add_argument("problem", help="problem JSON file ('-' for stdin)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--referral", metavar="ID", help="the referral to explain")
    parser.add_argument(
        "--nearest",
        type=at_least(1),
        default=DEFAULT_NEAREST,
        metavar="K",
        help=f"how many nearest places to list ({DEFAULT_NEAREST})",
    )
    parser.add_argument(
        "--batch",
        metavar="SOLUTION.json",
        help="a batch solution: its occupants count in the competition for places",
    )
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    problem = load_problem(args.problem)
    batch = load_solution(args.batch) if args.batch else None
    if args.referral not in {r.id for r in problem.referrals}:
        raise UsageError(f"--referral: unknown referral id {args.referral!r}")
    context = ExplainContext.build(problem, batch)
    write_output(explain_referral(context, args.referral, nearest=args.nearest), args.output)
    return EXIT_OK
