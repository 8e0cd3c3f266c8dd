"""`bedmatch serve [--host 127.0.0.1] [--port 8000]`: the web service and its pages.

With no database configured it runs on `bedmatch.db` (SQLite) seeded with the demo portfolio
and one login per role (see `api/demo.py`). `BEDMATCH_DATABASE_URL` or `DATABASE_URL` points it
at PostgreSQL instead, with no demo data and no accounts unless asked: `--admin-password`
(or `BEDMATCH_ADMIN_PASSWORD`) creates the first admin, who then creates the other users.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from api.cli import UsageError, at_least

URL_VARIABLES = ("BEDMATCH_DATABASE_URL", "DATABASE_URL")


def register(sub: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run the web service (SQLite with demo data unless a database is configured)",
        description="Run the HTTP API (OpenAPI docs at /docs) and the web pages. Without "
        "BEDMATCH_DATABASE_URL/DATABASE_URL, a SQLite file seeded with demo data and demo "
        "logins is used.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--database-url", help="overrides BEDMATCH_DATABASE_URL / DATABASE_URL")
    demo = parser.add_mutually_exclusive_group()
    demo.add_argument("--demo", action="store_true", default=None, help="seed demo data")
    demo.add_argument("--no-demo", dest="demo", action="store_false", help="no demo data")
    parser.add_argument(
        "--workers",
        type=at_least(1),
        default=1,
        help="worker processes (each keeps its own ranking cache; sign-in limits are per worker)",
    )
    parser.add_argument(
        "--admin-password",
        help="create the admin account (BEDMATCH_ADMIN_USERNAME, default 'admin') if missing",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app
    from api.config import Settings

    if not 0 < args.port < 65536:
        raise UsageError("--port: must be between 1 and 65535")
    overrides: dict[str, Any] = {}
    configured = args.database_url or any(os.environ.get(v) for v in URL_VARIABLES)
    if args.database_url:
        overrides["database_url"] = args.database_url
    overrides["demo"] = (not configured) if args.demo is None else args.demo
    if args.admin_password:
        if len(args.admin_password) < 12:
            raise UsageError("--admin-password: use at least 12 characters")
        overrides["admin_password"] = args.admin_password
    settings = Settings(**overrides)
    if overrides["demo"]:
        print("bedmatch: demo logins (username / password):")
        from api.demo import DEMO_LOGINS

        for username, (password, role) in DEMO_LOGINS.items():
            print(f"  {username:13} {password:18} {role.value}")
    if not 1 <= args.workers <= 64:
        raise UsageError("--workers: must be between 1 and 64")
    if args.workers == 1:
        uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info")
        return 0
    # Several workers: prepare the database once here, then let every worker start on it
    # with the same signing key and without migrating or seeding again.
    from api.app import prepare_database
    from api.db import make_engine

    engine = make_engine(settings.database_url)
    prepare_database(settings, engine)
    engine.dispose()
    os.environ.update(
        BEDMATCH_DATABASE_URL=settings.database_url,
        BEDMATCH_SECRET_KEY=settings.secret_key,
        BEDMATCH_RUN_MIGRATIONS="false",
        BEDMATCH_DEMO="false",
    )
    os.environ.pop("BEDMATCH_ADMIN_PASSWORD", None)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        log_level="info",
    )
    return 0
