"""A solver that crashes or hangs: the batch run still answers, with the greedy allocation
marked `fallback`, every proposal passing the checker; no request ever gets a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.security import Role
from api.services import runs
from api.services.assemble import build_problem
from constraints.checker import check
from matcher.backends.cpsat import CpSatBackend
from matcher.model import Assignment, Solution
from tests.api.conftest import Service, start_service

C = Role.coordinator


@pytest.fixture
def service(sqlite_url: str) -> Iterator[Service]:
    yield from start_service(sqlite_url)


def run_to_the_end(service: Service, limit: float, within_s: float) -> dict[str, Any]:
    client, headers = service.client, service.as_role(C)
    started = client.post(
        "/api/runs", json={"backend": "cpsat", "time_limit_s": limit}, headers=headers
    )
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{started.json()['id']}", headers=headers)
        assert run.status_code == 200, run.text
        if run.json()["status"] not in ("queued", "running"):
            return dict(run.json())
        time.sleep(0.1)
    raise AssertionError(f"the run did not finish within {within_s} s")


def assert_safe_fallback(service: Service, run: dict[str, Any]) -> None:
    assert run["status"] == "done", run["message"]
    assert run["solve_status"] == "fallback"
    assert "greedy fallback" in run["message"]
    proposed = [r for r in run["results"] if r["bedspace"] is not None]
    assert proposed, "the greedy allocation should place someone in the demo portfolio"
    factory = service.client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        problem = build_problem(session, service.settings.placement_date())
    solution = Solution(
        assignments=[
            Assignment(
                referral=r["referral"], bedspace=r["bedspace"], support_team=r["support_team"]
            )
            for r in proposed
        ]
    )
    assert check(problem, solution) == []
    accepted = service.client.post(
        f"/api/runs/{run['id']}/accept", json={}, headers=service.as_role(C)
    )
    assert accepted.status_code == 200, accepted.text


def test_a_crashing_solver_gives_the_checked_greedy_fallback(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(*_: Any, **__: Any) -> Any:
        raise RuntimeError("solver process died")

    monkeypatch.setattr(CpSatBackend, "solve", crash)
    run = run_to_the_end(service, limit=5, within_s=60)
    assert "RuntimeError" in run["message"]
    assert_safe_fallback(service, run)


def test_a_hanging_solver_gives_the_fallback_soon_after_its_time_limit(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()

    def hang(*_: Any, **__: Any) -> Any:
        release.wait(120)  # ignores its time limit, as a stuck native solver would
        raise RuntimeError("released")

    monkeypatch.setattr(CpSatBackend, "solve", hang)
    monkeypatch.setattr(runs, "HANG_GRACE_MIN_S", 1.0)
    started = time.monotonic()
    try:
        run = run_to_the_end(service, limit=1, within_s=30)
    finally:
        release.set()
    # Time limit 1 s plus 1 s of grace, then the greedy solve: well under the 30 s bound.
    assert time.monotonic() - started < 15
    assert "TimeoutError" in run["message"]
    assert_safe_fallback(service, run)
