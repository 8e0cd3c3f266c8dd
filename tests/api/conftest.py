"""Service fixtures: the app on a seeded SQLite file and on a real PostgreSQL server.

The PostgreSQL server is started here, from Debian's `postgresql` package, on 127.0.0.1 on a
free port in a temporary directory, and stopped at the end of the session. Each test gets its
own database, copied from a seeded template, so tests never see each other's writes.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app, prepare_database
from api.config import Settings
from api.db import make_engine
from api.demo import DEMO_LOGINS
from api.migrations import upgrade
from api.security import Principal, Role, create_token

SECRET = "test-secret-key-0123456789abcdef"
DEMO_SIZE = {"demo_seed": 8, "demo_referrals": 60, "demo_beds": 120}
ROLE_LOGIN = {role: (name, password) for name, (password, role) in DEMO_LOGINS.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": url,
        "secret_key": SECRET,
        "demo": True,
        "login_attempts_per_minute": 1000,
        # The test clients speak plain HTTP; the HTTPS-only cookie has tests of its own.
        "insecure_http": True,
        # Scenario replications in the service's own process: tests keep them tiny.
        "scenario_workers": 1,
        **DEMO_SIZE,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


# --- SQLite --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(settings_for(f"sqlite:///{path}"), engine)
    engine.dispose()
    return path


# --- PostgreSQL ----------------------------------------------------------------------------


@dataclass
class PostgresServer:
    host: str
    port: int
    version: int
    template: str = "bedmatch_template"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{database}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres").replace("+psycopg", ""), autocommit=True) as c:
            c.execute(sql)  # type: ignore[arg-type]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_postgres(argv: list[str]) -> list[str]:
    # initdb refuses to run as root; run the server as the package's own user.
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="bedmatch-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    # A throwaway server: durability off, for speed.
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=100 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        _as_postgres(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        capture_output=True,
    )
    server = PostgresServer("127.0.0.1", port, version=int(bindir.parent.name.split(".")[0]))
    try:
        server.admin(f"CREATE DATABASE {server.template}")
        engine = make_engine(server.url(server.template))
        prepare_database(settings_for(server.url(server.template)), engine)
        engine.dispose()
        yield server
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


_numbers = itertools.count()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    name = f"bedmatch_test_{os.getpid()}_{next(_numbers)}"
    # FILE_COPY copies the template's files instead of writing them all to the WAL.
    strategy = " STRATEGY FILE_COPY" if postgres.version >= 15 else ""
    postgres.admin(f"CREATE DATABASE {name} TEMPLATE {postgres.template}{strategy}")
    yield postgres.url(name)
    postgres.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "bedmatch.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty SQLite file database, migrated to the current schema."""
    engine = make_engine(f"sqlite:///{tmp_path / 'bedmatch.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A PostgreSQL database with nothing in it, not even the schema."""
    name = f"bedmatch_empty_{os.getpid()}_{next(_numbers)}"
    postgres.admin(f"CREATE DATABASE {name}")
    yield postgres.url(name)
    postgres.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, on SQLite and on PostgreSQL (tests using it run on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))


# --- the service ---------------------------------------------------------------------------


@dataclass
class Service:
    client: TestClient
    settings: Settings
    headers: dict[Role, dict[str, str]]

    def as_role(self, role: Role) -> dict[str, str]:
        return self.headers[role]


def login(client: TestClient, role: Role) -> dict[str, str]:
    username, password = ROLE_LOGIN[role]
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def start_service(url: str, **overrides: object) -> Iterator[Service]:
    settings = settings_for(url, **overrides)
    with TestClient(create_app(settings)) as client:
        # Tokens are signed directly (argon2 is slow on purpose); sign-in has its own tests.
        headers = {
            role: {"Authorization": f"Bearer {create_token(settings, Principal(name, role))}"}
            for role, (name, _) in ROLE_LOGIN.items()
        }
        yield Service(client, settings, headers)


@pytest.fixture
def service(database_url: str) -> Iterator[Service]:
    """The app on SQLite and on PostgreSQL (tests using it run on both)."""
    yield from start_service(database_url)


@pytest.fixture
def sqlite_service(sqlite_url: str) -> Iterator[Service]:
    yield from start_service(sqlite_url)
