"""`bedmatch explain PROBLEM.json (--referral ID | --all)`: what stands between people and a
place, for one person or for the whole list with the portfolio changes that would place most."""

from __future__ import annotations

import argparse
from typing import Any

from api.cli import EXIT_OK, UsageError, add_output_option, at_least, write_output
from matcher.explain_portfolio import (
    DEFAULT_CHANGES,
    DEFAULT_SHORTLIST,
    DEFAULT_TIME_LIMIT_S,
    explain_all,
)
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
            "ranking can place gets its top placements. With --all: everyone nobody can "
            "place, grouped by the rule families that block them, and the single portfolio "
            "changes that would place the most, band by band, re-solved with each change."
        ),
    )
    parser.add_argument("problem", help="problem JSON file ('-' for stdin)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--referral", metavar="ID", help="the referral to explain")
    which.add_argument("--all", action="store_true", help="the whole list and portfolio changes")
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
    parser.add_argument(
        "--changes",
        type=at_least(1),
        default=DEFAULT_CHANGES,
        metavar="N",
        help=f"--all: how many portfolio changes to report ({DEFAULT_CHANGES})",
    )
    parser.add_argument(
        "--shortlist",
        type=at_least(0),
        default=DEFAULT_SHORTLIST,
        metavar="N",
        help=f"--all: how many changes to re-solve with cpsat ({DEFAULT_SHORTLIST})",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT_S,
        metavar="S",
        help=f"--all: seconds for each cpsat solve ({DEFAULT_TIME_LIMIT_S:g})",
    )
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if not args.time_limit >= 0:
        raise UsageError(f"--time-limit: must be a number of seconds ≥ 0, got {args.time_limit}")
    problem = load_problem(args.problem)
    if args.all:
        answer = explain_all(problem, args.changes, args.shortlist, args.time_limit)
        write_output(answer, args.output)
        return EXIT_OK
    batch = load_solution(args.batch) if args.batch else None
    if args.referral not in {r.id for r in problem.referrals}:
        raise UsageError(f"--referral: unknown referral id {args.referral!r}")
    context = ExplainContext.build(problem, batch)
    write_output(explain_referral(context, args.referral, nearest=args.nearest), args.output)
    return EXIT_OK
