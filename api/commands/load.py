"""`bedmatch load PROBLEM.json --database-url URL`: a new service database holding a problem.

Migrates the database and stores the document's areas, links, units, bed-spaces, support
teams, residents and waiting referrals, so that `bedmatch serve` serves them: a trial on a
real portfolio's shape, or a load test on a generated one. Only a new database is filled: one
that already holds data or accounts is refused (exit 2), so nothing is mixed into it.
`--admin-password` (or `BEDMATCH_ADMIN_PASSWORD`) makes the first admin as well
(`BEDMATCH_ADMIN_USERNAME`, default 'admin'), who then adds the other accounts. A JSON
summary (what was stored, and the seconds it took) goes to stdout (or `-o FILE`).
"""

from __future__ import annotations

import argparse
import os
import re
import time
from typing import Any

from sqlalchemy.exc import ArgumentError, OperationalError

from api.cli import EXIT_OK, UsageError, add_output_option, write_output
from api.commands.serve import URL_VARIABLES
from matcher.model import load_problem

ADMIN_USERNAME = re.compile(r"[A-Za-z0-9_.@-]{2,64}")  # as `Settings.admin_username`


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
    parser.add_argument(
        "--admin-password",
        help="also create the admin account (BEDMATCH_ADMIN_USERNAME, default 'admin')",
    )
    add_output_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from api.db import make_engine, make_sessionmaker
    from api.demo import DatabaseKind, kind_of, store_problem
    from api.migrations import upgrade
    from api.services.users import ensure_admin

    url = args.database_url or next((os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), "")
    if not url:
        raise UsageError("--database-url: name the database to fill (or BEDMATCH_DATABASE_URL)")
    admin_password = args.admin_password or os.environ.get("BEDMATCH_ADMIN_PASSWORD") or None
    admin_username = os.environ.get("BEDMATCH_ADMIN_USERNAME") or "admin"
    if admin_password is not None and len(admin_password) < 12:
        raise UsageError("--admin-password: use at least 12 characters")
    if not ADMIN_USERNAME.fullmatch(admin_username):
        raise UsageError("BEDMATCH_ADMIN_USERNAME: 2-64 letters, digits or _ . @ -")
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
            if admin_password:
                ensure_admin(session, admin_username, admin_password)
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
            "admin": admin_username if admin_password else None,
            "seconds": round(seconds, 3),
        },
        args.output,
    )
    return EXIT_OK
