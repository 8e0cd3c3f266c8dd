"""`bedmatch check PROBLEM.json SOLUTION.json`: every hard rule a solution breaks."""

from __future__ import annotations

import argparse
from typing import Any

from api.cli import EXIT_FINDINGS, EXIT_OK, add_output_option, write_output
from constraints.checker import check
from matcher.model import load_problem, load_solution


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "check",
        help="list every hard rule a solution breaks (exit 1 if any)",
        description="List every hard rule the solution breaks, all of them; exit 1 if any.",
    )
    parser.add_argument("problem", help="problem JSON file ('-' for stdin)")
    parser.add_argument("solution", help="solution JSON file ('-' for stdin)")
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    problem = load_problem(args.problem)
    solution = load_solution(args.solution)
    violations = check(problem, solution)
    write_output(
        {
            "valid": not violations,
            "violations": [v.model_dump() for v in violations],
        },
        args.output,
    )
    return EXIT_FINDINGS if violations else EXIT_OK
