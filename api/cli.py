"""The `bedmatch` command line.

Every command reads the problem document of DESIGN.md, writes JSON to stdout (or `-o FILE`),
and exits 0 on success, 1 where a check finds broken rules, and 2 on bad input with a message
naming the field and why, never a traceback. Each command lives in `api/commands/`.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from matcher.errors import BedmatchError, ProblemInvalid

COMMANDS = (
    "solve",
    "rank",
    "check",
    "generate",
    "serve",
    "load",
    "vacancies",
    "simulate",
    "bench",
    "explain",
)

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(BedmatchError):
    """A command-line argument is wrong (exit 2)."""


def write_output(data: Any, destination: str | None) -> None:
    """Write a JSON document (a pydantic model, or plain data) to `-o FILE` or stdout."""
    if hasattr(data, "model_dump_json"):
        text = data.model_dump_json(indent=2)
    else:
        text = json.dumps(data, indent=2, default=str)
    write_text(text, destination)


def write_text(text: str, destination: str | None) -> None:
    """Write a document's text to `-o FILE` or stdout (the only thing stdout carries)."""
    if destination and destination != "-":
        Path(destination).write_text(text + "\n")
        return
    with _stdout_restored():
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


# While a command runs, file descriptor 1 is pointed at stderr, so that what solver libraries
# and their worker processes print there (HiGHS's banner comes from C code, which Python's
# `sys.stdout` never sees) cannot corrupt the document; `write_text` points it back for the
# document alone. None when no command is running.
_saved_stdout_fd: int | None = None


@contextlib.contextmanager
def _everything_else_to_stderr() -> Iterator[None]:
    global _saved_stdout_fd
    try:
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError):  # no real descriptors (an embedding host): nothing to guard
        yield
        return
    _saved_stdout_fd = saved
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        _saved_stdout_fd = None


@contextlib.contextmanager
def _stdout_restored() -> Iterator[None]:
    saved = _saved_stdout_fd
    if saved is None:
        yield
        return
    os.dup2(saved, 1)
    try:
        yield
    finally:
        os.dup2(2, 1)


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
        with _everything_else_to_stderr():
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
    # Run as `python -m api.cli`, this file is `__main__`, a second copy of the module the
    # commands import: run that one, so the stdout guard they read is the one set here.
    from api import cli

    sys.exit(cli.main())
