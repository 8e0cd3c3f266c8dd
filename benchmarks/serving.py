"""Serving for the loopback load benchmarks, which drive the service as its users do, only
through the `bedmatch` command and HTTP: a generated problem stored with `bedmatch load`,
`bedmatch serve` in a child process on a free loopback port, accounts added by its admin and
tokens from its sign-in; and the percentile the benchmarks report."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from fixtures.generator import generate
from matcher.model import Problem


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


def bedmatch_command() -> list[str]:
    """The `bedmatch` command of the installation running this benchmark: the script beside
    this interpreter, or the same command line run as a module by this interpreter (never
    another installation's `bedmatch` found on the PATH)."""
    beside = Path(sys.executable).with_name("bedmatch")
    return [str(beside)] if beside.is_file() else [sys.executable, "-m", "api.cli"]


@dataclass(frozen=True)
class Seeded:
    waiting: list[str]  # the referral ids, all waiting in a fresh database
    generate_s: float
    store_s: float


def store_problem(database_url: str, problem: Problem, admin: tuple[str, str]) -> float:
    """Store `problem` and the `admin` account (username, password) in a new database through
    `bedmatch load`, which migrates it; the seconds the storing took, as it reports them."""
    username, password = admin
    loaded = subprocess.run(
        [*bedmatch_command(), "load", "-", "--database-url", database_url],
        input=problem.model_dump_json(),
        capture_output=True,
        text=True,
        check=False,
        # The password in the environment, not the command line, where anyone can read it.
        env={
            **os.environ,
            "BEDMATCH_ADMIN_USERNAME": username,
            "BEDMATCH_ADMIN_PASSWORD": password,
        },
    )
    if loaded.returncode != 0:
        raise RuntimeError(f"bedmatch load failed ({loaded.returncode}): {loaded.stderr}")
    return float(json.loads(loaded.stdout)["seconds"])


def seed_database(
    database_url: str, seed: int, referrals: int, beds: int, admin: tuple[str, str]
) -> Seeded:
    """Fill a new database with `generate(seed, referrals, beds)` and the `admin` account."""
    started = time.perf_counter()
    problem = generate(seed, referrals, beds)
    generate_s = time.perf_counter() - started
    store_s = store_problem(database_url, problem, admin)
    return Seeded(
        waiting=[r.id for r in problem.referrals],
        generate_s=round(generate_s, 3),
        store_s=round(store_s, 3),
    )


def sign_in(base: str, username: str, password: str) -> str:
    """A bearer token for the account, from the service's own sign-in (`POST /api/auth/token`)."""
    answer = httpx.post(
        f"{base}/api/auth/token", data={"username": username, "password": password}, timeout=60
    )
    if answer.status_code != 200:
        raise RuntimeError(f"signing in {username} failed: {answer.status_code} {answer.text}")
    return str(answer.json()["access_token"])


def add_account(base: str, admin_token: str, username: str, password: str, role: str) -> None:
    """Add an account with `role`, as the admin does (`POST /api/users`)."""
    answer = httpx.post(
        f"{base}/api/users",
        json={"username": username, "password": password, "role": role},
        headers={"Authorization": f"Bearer {admin_token}"},
        timeout=60,
    )
    if answer.status_code != 201:
        raise RuntimeError(f"adding {username} failed: {answer.status_code} {answer.text}")


@contextmanager
def serving(database_url: str, secret: str, workers: int = 1) -> Iterator[str]:
    """`bedmatch serve` (`workers` processes, quiet) on an already loaded database, on a free
    loopback port; yields its base URL and stops it on the way out. Tokens stay valid from
    one start to the next: the key is `secret`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "BEDMATCH_SECRET_KEY": secret}
    env.pop("BEDMATCH_ADMIN_PASSWORD", None)  # the database has its admin already
    command = [
        *bedmatch_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--database-url",
        database_url,
        "--no-demo",
        "--workers",
        str(workers),
        "--quiet",
    ]
    process = subprocess.Popen(command, env=env)
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
