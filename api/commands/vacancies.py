"""`bedmatch vacancies PROBLEM.json [--within DAYS] [filters]`: what is free, no personal data."""

from __future__ import annotations

import argparse
from typing import Any

from api.cli import EXIT_OK, UsageError, add_output_option, at_least, write_output
from capacity.length_of_stay import length_of_stay
from capacity.quotas import women_only_share
from capacity.vacancies import VacancyFilters, vacancies
from matcher.model import GenderPolicy, Risk, Staffing, UnitKind, load_problem


def _choices(enum: Any) -> list[str]:
    return [member.value for member in enum]


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "vacancies",
        help="bed-spaces free now and freeing soon, grouped; no personal data",
        description="Bed-spaces free now and freeing in the next 7 and 28 days (and within "
        "--within DAYS), per unit and grouped by gender policy, age band, risk, staffing, area "
        "and kind, with the women's provision share and length-of-stay breaches. Refuge "
        "addresses stay hidden unless --show-confidential is given.",
    )
    parser.add_argument("problem", help="problem JSON file ('-' for stdin)")
    parser.add_argument("--within", type=at_least(0), default=28, metavar="DAYS")
    parser.add_argument("--gender-policy", choices=_choices(GenderPolicy))
    parser.add_argument(
        "--age", type=at_least(16), help="only units that accept someone of this age"
    )
    parser.add_argument("--age-band", help="only units with this band, e.g. 16-25 or 18+")
    parser.add_argument("--risk", choices=_choices(Risk), help="only units taking this risk")
    parser.add_argument("--staffing", choices=_choices(Staffing))
    parser.add_argument("--area")
    parser.add_argument("--kind", choices=_choices(UnitKind))
    parser.add_argument(
        "--show-confidential",
        action="store_true",
        help="show refuges' names and areas (only for roles allowed to know them)",
    )
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.age is not None and args.age < 16:
        raise UsageError("--age: eligibility starts at 16")
    problem = load_problem(args.problem)
    filters = VacancyFilters(
        gender_policy=args.gender_policy,
        age=args.age,
        age_band=args.age_band,
        risk=args.risk,
        staffing=args.staffing,
        area=args.area,
        kind=args.kind,
    )
    board = vacancies(
        problem, filters, within_days=args.within, show_confidential=args.show_confidential
    )
    stays = length_of_stay(problem, show_confidential=args.show_confidential)
    write_output(
        {
            "vacancies": board.model_dump(mode="json"),
            "women_only_share": women_only_share(problem).model_dump(mode="json"),
            "length_of_stay": stays.totals.model_dump(mode="json"),
            "length_of_stay_by_pathway": {
                name: counts.model_dump(mode="json") for name, counts in stays.by_pathway.items()
            },
        },
        args.output,
    )
    return EXIT_OK
