"""The FastAPI application: `create_app(settings)`.

At start the database is upgraded to the newest migration (`alembic upgrade head`), seeded
with the demo portfolio and logins when `settings.demo`, and given an admin account when
`settings.admin_password` is set. Errors map to responses in one place:

    ProblemInvalid      422  detail = every field path and reason
    NotFound            404  names the unknown id
    Conflict            409  the reason, and every rule's reason in `reasons`
    PlacementRefused    409  every broken rule's reason
    ReferralNotFound    404
    BackendUnavailable  503
    database connection lost  503  (the transaction was rolled back; try again)
    database constraint       409  (a backstop: the service checks first, the database last)
    database refused a value  422  (a backstop too: the models bound every value)
    request body too large    413  (`api.body_limit`)
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import DataError, IntegrityError, InterfaceError, OperationalError
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import demo
from api.body_limit import BodyLimit
from api.config import Settings
from api.data_errors import data_error_detail, raised_by_database
from api.db import make_engine, make_sessionmaker
from api.error_docs import document_errors
from api.quick_reads import QuickReads
from api.routers import (
    admin,
    auth,
    board,
    by_name_list,
    inventory,
    offers,
    people,
    runs,
    scenarios,
    stays,
    support_placements,
)
from api.services import departures, offer_expiry, users
from api.services import offers as offers_service
from api.services import runs as run_service
from api.services import scenarios as scenario_service
from api.services.assemble import DEFAULT_UPDATERS, ProblemCache
from api.services.audit_on_loop import close_loop_read_logs
from api.services.errors import Conflict, NotFound
from api.services.kept_uploads import KeptUploads
from api.sign_in import SignInThrottle
from api.transport import install_transport_security
from api.worker_balance import ConnectionBalance, WorkerBalance
from matcher.errors import BackendUnavailable, PlacementRefused, ProblemInvalid, ReferralNotFound


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    # One of several worker processes: keep the connections even between them.
    balance = WorkerBalance.for_this_process()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.demo_database = prepare_database(settings, engine)
        # Request handlers run in a pool of threads that share one interpreter lock: beyond a
        # few, more threads only take turns at it (each turn a context switch), and latency
        # under load grows with the pool. Requests wait in the event loop instead. Measured
        # (rank, 20 clients, 10,000 bed-spaces, one process): 2 threads 240-255 answers/s,
        # 4 threads 190, 8 threads 149; 2 rather than 1, so one slow request (a write waiting
        # for the database) does not hold up every other.
        to_thread.current_default_thread_limiter().total_tokens = settings.request_threads
        async with (
            departures.nightly_task(app.state.sessionmaker, settings.placement_date),
            offer_expiry.expiry_task(
                app.state.sessionmaker, settings.placement_date, app.state.problem_cache
            ),
        ):
            yield
        app.state.executor.shutdown(wait=True, cancel_futures=True)
        app.state.scenario_stopping.set()
        app.state.scenario_executor.shutdown(wait=True, cancel_futures=True)
        app.state.quick_reads.close()
        close_loop_read_logs(engine)
        if balance is not None:
            balance.close()
        engine.dispose()

    # The API docs' Swagger UI and ReDoc assets are served from the package, not a CDN, so
    # `/docs` works on a network with no internet.
    app = FastAPIOffline(
        title="bedmatch",
        description="Placement matching and bed-space allocation for supported housing.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.quick_reads = QuickReads(engine)
    app.state.problem_cache = ProblemCache(
        {**DEFAULT_UPDATERS, offers_service.DECLINED: offers_service.declined_after}
    )
    app.state.kept_uploads = KeptUploads()  # imports checked, waiting to be confirmed
    app.state.sign_in_throttle = SignInThrottle(settings.login_attempts_per_minute)
    # One batch solve at a time: the machine's cores go to the solver, not to two solvers.
    app.state.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="allocation")
    # One scenario run at a time, beside (not behind) batch allocation: its replications
    # go to worker processes or a Dask cluster, and this thread only waits for them.
    app.state.scenario_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scenario")
    # Set when the service stops: a scenario run under way ends at its next replication.
    app.state.scenario_stopping = threading.Event()

    for router in (
        auth.router,
        inventory.router,
        people.router,
        offers.router,
        runs.router,
        scenarios.router,
        board.router,
        admin.router,
        stays.router,
        support_placements.router,
        by_name_list.router,
    ):
        app.include_router(router)
    from api.routers import (
        admin_pages,
        floor_pages,
        import_pages,
        imports,
        list_pages,
        offer_pages,
        outcomes,
        pages,
        returns,
        scenario_pages,
        stay_pages,
        support_pages,
    )

    app.include_router(imports.router)
    app.include_router(pages.router)
    app.include_router(import_pages.router)
    app.include_router(admin_pages.router)
    app.include_router(stay_pages.router)
    app.include_router(returns.router)
    app.include_router(outcomes.router)
    app.include_router(scenario_pages.router)
    app.include_router(offer_pages.router)
    app.include_router(floor_pages.router)
    app.include_router(support_pages.router)
    app.include_router(list_pages.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    install_security_headers(app)
    if balance is not None:
        app.add_middleware(ConnectionBalance, balance=balance)
    install_transport_security(app, settings)
    document_errors(app, route_table(app))
    return app


STATIC = Path(__file__).resolve().parent / "static"
# Pages load nothing from elsewhere; the API docs page (Swagger UI) does, so it is exempt.
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class SecurityHeaders:
    """Secure headers on every answer, as a plain ASGI middleware: it only adds headers, so it
    needs none of the request/response machinery (and per-request task) of `@app.middleware`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                if path not in ("/docs", "/redoc", "/docs/oauth2-redirect"):
                    headers.setdefault("Content-Security-Policy", PAGE_POLICY)
                if not path.startswith("/static"):
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_security_headers(app: FastAPI) -> None:
    app.add_middleware(SecurityHeaders)


def prepare_database(settings: Settings, engine: object) -> bool:
    """Upgrade the schema, then seed the demo or create the admin, as configured; whether
    the database is the demo. Refuses the demo in a database that is not one
    (`demo.NotADemoDatabase`) and a real admin in the demo (`users.DemoDatabaseRefused`)."""
    from api.migrations import upgrade

    if settings.run_migrations:
        upgrade(engine)  # type: ignore[arg-type]
    factory = make_sessionmaker(engine)  # type: ignore[arg-type]
    with factory() as session:
        run_service.mark_interrupted(session)
        scenario_service.mark_interrupted(session)
        if settings.demo:
            demo.seed(session, settings.demo_seed, settings.demo_referrals, settings.demo_beds)
        if settings.admin_password:
            users.ensure_admin(session, settings.admin_username, settings.admin_password)
        demo.close_public_logins(session)
        return demo.kind_of(session) is demo.DatabaseKind.demo


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and request.url.path not in (
        "/docs",
        "/openapi.json",
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemInvalid)
    async def problem_invalid(_: Request, error: ProblemInvalid) -> Response:
        return JSONResponse({"detail": error.as_detail()}, status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(NotFound)
    async def not_found(_: Request, error: NotFound) -> Response:
        return JSONResponse({"detail": str(error)}, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(ReferralNotFound)
    async def referral_not_found(_: Request, error: ReferralNotFound) -> Response:
        return JSONResponse({"detail": str(error)}, status.HTTP_404_NOT_FOUND)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, error: Conflict) -> Response:
        return JSONResponse(
            {"detail": error.message, "reasons": error.reasons}, status.HTTP_409_CONFLICT
        )

    @app.exception_handler(PlacementRefused)
    async def refused(_: Request, error: PlacementRefused) -> Response:
        return JSONResponse(
            {"detail": str(error), "reasons": error.reasons, "rules": error.rules},
            status.HTTP_409_CONFLICT,
        )

    @app.exception_handler(BackendUnavailable)
    async def unavailable(_: Request, error: BackendUnavailable) -> Response:
        return JSONResponse({"detail": str(error)}, status.HTTP_503_SERVICE_UNAVAILABLE)

    async def database_lost(_: Request, error: Exception) -> Response:
        # A lost connection (server restart, failover, killed backend) ends the request's
        # transaction, which the server then rolls back: a retry is safe, so say so.
        return JSONResponse(
            {"detail": "the database connection was lost; the request was not completed"},
            status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )

    async def database_conflict(_: Request, error: Exception) -> Response:
        # Another write got there first (the one-person-per-bed-space index, a duplicate
        # id); the transaction was rolled back whole.
        return JSONResponse(
            {"detail": "the change conflicts with what is stored now; nothing was stored"},
            status.HTTP_409_CONFLICT,
        )

    app.add_exception_handler(OperationalError, database_lost)
    app.add_exception_handler(InterfaceError, database_lost)
    app.add_exception_handler(IntegrityError, database_conflict)

    async def database_refused_value(_: Request, error: Exception) -> Response:
        # A backstop: the models bound every value first. The transaction was rolled back.
        if not raised_by_database(error):
            raise error
        detail = data_error_detail(error)
        return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)

    app.add_exception_handler(DataError, database_refused_value)
    app.add_exception_handler(OverflowError, database_refused_value)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> Response:
        detail = [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # A page asked for without signing in goes to the sign-in form.
        if error.status_code == status.HTTP_401_UNAUTHORIZED and _wants_html(request):
            return RedirectResponse(f"/login?next={request.url.path}", status.HTTP_303_SEE_OTHER)
        if error.status_code == status.HTTP_403_FORBIDDEN and _wants_html(request):
            from api.routers.pages import render, signed_in_user

            return render(request, "forbidden.html", signed_in_user(request), code=403)
        return JSONResponse(
            {"detail": error.detail}, error.status_code, headers=getattr(error, "headers", None)
        )


def route_table(app: FastAPI) -> list[tuple[str, str, Any]]:
    """Every (method, path, route) the app serves, through included routers too.

    The access tests iterate this, so a new route without an access rule fails them.
    """
    table: list[tuple[str, str, Any]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                context = getattr(route, "include_context", None)
                walk(inner.routes, prefix + getattr(context, "prefix", ""))
                continue
            for method in sorted(getattr(route, "methods", None) or ()):
                if method not in ("HEAD", "OPTIONS"):
                    table.append((method, prefix + route.path, route))

    walk(list(app.routes), "")
    return table
