"""`bedmatch serve [--host 127.0.0.1] [--port 8000]`: the web service and its pages.

With no database configured it runs on `bedmatch.db` (SQLite) seeded with the demo portfolio
and one login per role (see `api/demo.py`), if that file is new or was created as the demo: a
`bedmatch.db` that has had a real admin is served without demo data, with a message, and
`--demo` on it is refused. `BEDMATCH_DATABASE_URL` or `DATABASE_URL` points it at PostgreSQL
instead, with no demo data and no accounts unless asked: `--admin-password` (or
`BEDMATCH_ADMIN_PASSWORD`) creates the first admin, who then creates the other users; it
turns the default demo off, and is refused in the demo database.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from api.cli import UsageError, at_least

if TYPE_CHECKING:
    from api.config import Settings

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
    parser.add_argument(
        "--insecure-http",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="plain HTTP for local use: the sign-in cookie without Secure, no HSTS "
        "(default: on only for the demo on a loopback address; BEDMATCH_INSECURE_HTTP)",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="log warnings and errors only, no line per request (a load test's setting)",
    )
    parser.add_argument(
        "--trusted-proxies",
        metavar="ADDRESSES",
        help="comma-separated proxy addresses or networks whose X-Forwarded-For/-Proto are "
        "believed (default none; BEDMATCH_TRUSTED_PROXIES)",
    )
    return parser


LOOPBACK = ("127.0.0.1", "localhost", "::1")


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
    # The demo is the default only on an unconfigured database and without a real admin.
    if args.demo is None:
        wants_admin = args.admin_password or os.environ.get("BEDMATCH_ADMIN_PASSWORD")
        overrides["demo"] = not configured and not wants_admin
    else:
        overrides["demo"] = args.demo
    if args.admin_password:
        if len(args.admin_password) < 12:
            raise UsageError("--admin-password: use at least 12 characters")
        if args.demo:
            raise UsageError(
                "--admin-password: the demo's logins are public; a real admin needs a "
                "database without the demo (--no-demo, or a BEDMATCH_DATABASE_URL)"
            )
        overrides["admin_password"] = args.admin_password
    if args.trusted_proxies is not None:
        overrides["trusted_proxies"] = args.trusted_proxies
    settings = Settings(**overrides)
    if not 1 <= args.workers <= 64:
        raise UsageError("--workers: must be between 1 and 64")
    is_demo = prepare(settings, demo_asked=args.demo is True)
    if is_demo:
        print("bedmatch: demo database; demo logins (username / password):")
        from api.demo import DEMO_LOGINS

        for username, (password, role) in DEMO_LOGINS.items():
            print(f"  {username:13} {password:18} {role.value}")
    insecure = args.insecure_http
    if insecure is None and "BEDMATCH_INSECURE_HTTP" not in os.environ:
        insecure = is_demo and args.host in LOOPBACK
    if insecure is not None:
        settings = settings.model_copy(update={"insecure_http": insecure})
    if settings.insecure_http:
        print(f"bedmatch: plain HTTP for local use: http://{args.host}:{args.port}/")
    else:
        print(
            "bedmatch: the sign-in cookie is sent over HTTPS only (HSTS on): serve it behind "
            "TLS, or use --insecure-http on this computer alone"
        )
    # The database is prepared once, here; the service (every worker) starts on it with the
    # same signing key and without migrating or seeding again.
    settings = settings.model_copy(
        update={"run_migrations": False, "demo": False, "admin_password": None}
    )
    # Forwarded headers are read by the app, from its trusted proxies only (api.transport).
    if args.workers == 1:
        uvicorn.run(
            create_app(settings),
            host=args.host,
            port=args.port,
            proxy_headers=False,
            **logging_options(args.quiet),
        )
        return 0
    os.environ.update(
        BEDMATCH_DATABASE_URL=settings.database_url,
        BEDMATCH_SECRET_KEY=settings.secret_key,
        BEDMATCH_RUN_MIGRATIONS="false",
        BEDMATCH_DEMO="false",
        BEDMATCH_INSECURE_HTTP="true" if settings.insecure_http else "false",
        BEDMATCH_TRUSTED_PROXIES=settings.trusted_proxies,
    )
    os.environ.pop("BEDMATCH_ADMIN_PASSWORD", None)
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        workers=args.workers,
        host=args.host,
        port=args.port,
        proxy_headers=False,
        **logging_options(args.quiet),
    )
    return 0


def logging_options(quiet: bool) -> dict[str, Any]:
    """uvicorn's logging: a line per request, or (quiet) warnings and errors alone, with the
    access log off altogether, so that a request under load spends nothing on it."""
    return {"log_level": "warning", "access_log": False} if quiet else {"log_level": "info"}


def prepare(settings: Settings, demo_asked: bool) -> bool:
    """Migrate and seed the database, or create the admin; whether it is the demo database.

    The demo is the default only where no database is configured: a database there that is
    not the demo (one started with `--no-demo --admin-password`, say) is served without demo
    data, with a message. A demo asked for with `--demo` is refused instead (exit 2)."""
    from api.app import prepare_database
    from api.db import make_engine
    from api.demo import NotADemoDatabase
    from api.services.users import DemoDatabaseRefused

    engine = make_engine(settings.database_url)
    try:
        try:
            return prepare_database(settings, engine)
        except NotADemoDatabase as refusal:
            if demo_asked:
                raise UsageError(f"--demo: {refusal}") from None
            print(f"bedmatch: {refusal}; serving it without demo data", file=sys.stderr)
            return prepare_database(settings.model_copy(update={"demo": False}), engine)
        except DemoDatabaseRefused as refusal:
            raise UsageError(f"--admin-password: {refusal}") from None
    finally:
        engine.dispose()
