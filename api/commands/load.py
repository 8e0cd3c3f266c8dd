"""`bedmatch load PROBLEM.json --database-url URL`: a new service database holding a problem.

Migrates the database and stores the document's areas, links, units, bed-spaces, support
teams, residents and waiting referrals, so that `bedmatch serve` serves them: a trial on a
real portfolio's shape, or a load test on a generated one. Only a new database is filled: one
that already holds data or accounts is refused (exit 2), so nothing is mixed into it. No
account is made; `bedmatch serve --admin-password` makes the first admin. A JSON
summary (what was stored, and the seconds it took) goes to stdout (or `-o FILE`).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from sqlalchemy.exc import ArgumentError, OperationalError

from api.cli import EXIT_OK, UsageError, add_output_option, write_output
from api.commands.serve import URL_VARIABLES
from matcher.model import load_problem


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "load",
        help="store a problem document in a new service database",
        description="Migrate a new database and store the problem's inventory, residents and "
        "waiting referrals in it, for `bedmatch serve`. A database that already holds data "
        "or accounts is refused.",
    )
    parser.add_argument("problem", help="problem JSON file ('-' for stdin)")
    parser.add_argument(
        "--database-url", help="the database to fill (default BEDMATCH_DATABASE_URL/DATABASE_URL)"
    )
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from api.db import make_engine, make_sessionmaker
    from api.demo import DatabaseKind, kind_of, store_problem
    from api.migrations import upgrade

    url = args.database_url or next((os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), "")
    if not url:
        raise UsageError("--database-url: name the database to fill (or BEDMATCH_DATABASE_URL)")
    problem = load_problem(args.problem)
    started = time.perf_counter()
    try:
        engine = make_engine(url)
    except ArgumentError:
        raise UsageError("--database-url: not a database URL") from None
    try:
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            if kind_of(session) is not DatabaseKind.empty:
                raise UsageError(
                    "--database-url: the database already holds data or accounts; "
                    "load into a new one"
                )
            store_problem(session, problem)
    except OperationalError as error:
        raise UsageError(f"--database-url: the database cannot be used ({error.orig})") from None
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    write_output(
        {
            "stored": {
                "areas": len(problem.areas),
                "units": len(problem.units),
                "bedspaces": len(problem.bedspaces),
                "support_teams": len(problem.support_teams),
                "residents": len(problem.residents),
                "referrals": len(problem.referrals),
            },
            "seconds": round(seconds, 3),
        },
        args.output,
    )
    return EXIT_OK
