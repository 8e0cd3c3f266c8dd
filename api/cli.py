"""The `bedmatch` command line.

Every command reads the problem document of DESIGN.md, writes JSON to stdout (or `-o FILE`),
and exits 0 on success, 1 where a check finds broken rules, and 2 on bad input with a message
naming the field and why, never a traceback. Each command lives in `api/commands/`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matcher.errors import BedmatchError, ProblemInvalid

COMMANDS = ("solve", "rank", "check", "generate", "serve", "vacancies", "simulate", "bench")

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(BedmatchError):
    """A command-line argument is wrong (exit 2)."""


def write_output(data: Any, destination: str | None) -> None:
    """Write a JSON document (a pydantic model, or plain data) to `-o FILE` or stdout."""
    if hasattr(data, "model_dump_json"):
        text = data.model_dump_json(indent=2)
    else:
        text = json.dumps(data, indent=2, default=str)
    if destination and destination != "-":
        Path(destination).write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than `minimum` (the message says which)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
        return value

    return parse


def add_output_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="FILE", help="write JSON here, not stdout")


def _available_commands() -> list[Any]:
    modules = []
    for name in COMMANDS:
        try:
            modules.append(importlib.import_module(f"api.commands.{name}"))
        except ModuleNotFoundError as error:
            if error.name != f"api.commands.{name}":
                raise
    return modules


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit 2 with the message, as argparse does
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"bedmatch: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="bedmatch",
        description="Match referrals to bed-spaces and support teams without breaking a hard rule.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _available_commands():
        command = module.register(sub)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse has printed its message (or the help)
        return stop.code if isinstance(stop.code, int) else EXIT_BAD_INPUT
    try:
        code: int = args.run(args)
    except ProblemInvalid as error:
        for issue in error.issues:
            print(f"bedmatch: invalid input: {issue}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except UsageError as error:
        print(f"bedmatch: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BedmatchError as error:
        print(f"bedmatch: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


if __name__ == "__main__":
    sys.exit(main())
