"""Serving for the loopback load benchmarks: a seeded database, the service in a child
process on a free local port, a coordinator's token, and the percentile they report."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(base: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Return once the service at `base` serves its OpenAPI schema; fail if it exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with code {process.returncode}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the service did not start in time")


@dataclass(frozen=True)
class Seeded:
    waiting: list[str]  # the referral ids, all waiting in a fresh database
    generate_s: float
    store_s: float


def seed_database(
    database_url: str, seed: int, referrals: int, beds: int, username: str, password: str
) -> Seeded:
    """Migrate and fill the database with `generate(seed, referrals, beds)`; add a
    coordinator account for the load."""
    from api.db import make_engine, make_sessionmaker
    from api.demo import store_problem
    from api.migrations import upgrade
    from api.orm import UserRow
    from api.security import Role, hash_password
    from fixtures.generator import generate

    started = time.perf_counter()
    problem = generate(seed, referrals, beds)
    generated = time.perf_counter()
    engine = make_engine(database_url)
    upgrade(engine)
    with make_sessionmaker(engine)() as session:
        store_problem(session, problem)
        session.add(
            UserRow(username=username, password_hash=hash_password(password), role=Role.coordinator)
        )
        session.commit()
    engine.dispose()
    return Seeded(
        waiting=[r.id for r in problem.referrals],
        generate_s=round(generated - started, 3),
        store_s=round(time.perf_counter() - generated, 3),
    )


def add_account(database_url: str, username: str, password: str, role: str) -> None:
    """Add a signed-up account with `role` to an already seeded database."""
    from api.db import make_engine, make_sessionmaker
    from api.orm import UserRow
    from api.security import hash_password

    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as session:
        session.add(UserRow(username=username, password_hash=hash_password(password), role=role))
        session.commit()
    engine.dispose()


def coordinator_token(database_url: str, secret: str, username: str) -> str:
    """A signed token for `username` as a coordinator, as the service signs them."""
    from api.config import Settings
    from api.security import Principal, Role, create_token

    settings = Settings(database_url=database_url, secret_key=secret)
    return create_token(settings, Principal(username, Role.coordinator))


@contextmanager
def serving(database_url: str, secret: str, workers: int = 1) -> Iterator[str]:
    """The service (uvicorn, `workers` processes) on an already migrated database, in a
    child process on a free loopback port; yields its base URL and stops it on the way out."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "BEDMATCH_DATABASE_URL": database_url,
        "BEDMATCH_SECRET_KEY": secret,
        "BEDMATCH_DEMO": "false",
        "BEDMATCH_RUN_MIGRATIONS": "false",  # seeded and migrated before, once
    }
    code = (
        "import uvicorn; "
        f"uvicorn.run('api.app:create_app', factory=True, workers={workers}, "
        f"host='127.0.0.1', port={port}, log_level='warning', access_log=False)"
    )
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        wait_until_up(base, process, timeout_s=60)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of already sorted values, to 0.01 (None when there are none)."""
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(share * (len(sorted_values) - 1))))
    return round(sorted_values[index], 2)
