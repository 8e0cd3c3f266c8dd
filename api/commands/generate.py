"""`bedmatch generate --seed N --referrals R --beds B`: a seeded synthetic problem."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from api.cli import EXIT_OK, UsageError, add_output_option, at_least, write_text
from fixtures.generator import STRESS_VARIANTS, generate_json


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "generate",
        help="write a seeded synthetic problem (same seed, same bytes)",
        description="Write a realistic synthetic problem shaped by the commissioning facts.",
    )
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--referrals", type=at_least(0), required=True, help="referrals waiting")
    parser.add_argument(
        "--beds", type=at_least(0), required=True, help="bed-spaces in the portfolio"
    )
    parser.add_argument(
        "--stress",
        choices=[s for s in STRESS_VARIANTS if s],
        help="a stressed variant of the demand or supply mix",
    )
    parser.add_argument("--as-of", help="placement date, YYYY-MM-DD (default 2026-11-23)")
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {"stress": args.stress}
    if args.as_of:
        try:
            options["as_of"] = date.fromisoformat(args.as_of)
        except ValueError:
            raise UsageError(f"--as-of: {args.as_of!r} is not a date (YYYY-MM-DD)") from None
    write_text(generate_json(args.seed, args.referrals, args.beds, **options), args.output)
    return EXIT_OK
