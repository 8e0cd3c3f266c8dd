"""Faults on a real PostgreSQL server: a connection that drops, or a constraint that fails,
half-way through a batch accept or an import leaves the database exactly as it was; the
service answers with a clear status, not a crash, and works again on the next request.
A solver that crashes or hangs gives the greedy fallback, never a 500 and never a stuck run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.security import Role
from tests.api.conftest import Service, start_service
from tests.api.helpers import import_counts
from tests.reliability.faults import fault_at, kill_connection, run_sql, snapshot

C = Role.coordinator


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Service]:
    yield from start_service(postgres_url)


def finished_run(service: Service, backend: str = "greedy", limit: float = 5.0) -> dict[str, Any]:
    client, headers = service.client, service.as_role(C)
    started = client.post(
        "/api/runs", json={"backend": backend, "time_limit_s": limit}, headers=headers
    )
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + limit + 60
    while time.monotonic() < deadline:
        run = client.get(f"/api/runs/{started.json()['id']}", headers=headers).json()
        if run["status"] in ("done", "failed"):
            return dict(run)
        time.sleep(0.1)
    raise AssertionError("the run did not finish")


def proposals(run: dict[str, Any]) -> list[dict[str, Any]]:
    found = [r for r in run["results"] if r["bedspace"] is not None]
    assert len(found) >= 2, "the demo portfolio should give a batch of proposals"
    return found


def test_a_connection_dropped_half_way_through_a_batch_accept_stores_nothing(
    pg: Service, postgres_url: str
) -> None:
    run = finished_run(pg)
    chosen = proposals(run)
    before = snapshot(postgres_url)
    engine = pg.client.app.state.engine  # type: ignore[attr-defined]
    # Referrals are marked offered by the time the offers go in.
    with fault_at(engine, "INSERT INTO offers", kill_connection(postgres_url)) as fault:
        response = pg.client.post(f"/api/runs/{run['id']}/accept", json={}, headers=pg.as_role(C))
    assert fault.fired
    assert response.status_code == 503, response.text
    assert "database" in response.json()["detail"]
    assert snapshot(postgres_url) == before
    # The pool recovers on the next request; the same accept then goes through whole.
    again = pg.client.post(f"/api/runs/{run['id']}/accept", json={}, headers=pg.as_role(C))
    assert again.status_code == 200, again.text
    assert sorted(again.json()["accepted"]) == sorted(p["referral"] for p in chosen)


def test_a_constraint_failing_half_way_through_a_batch_accept_stores_nothing(
    pg: Service, postgres_url: str
) -> None:
    run = finished_run(pg)
    chosen = proposals(run)
    before = snapshot(postgres_url)
    # A bed-space nobody was ever in: no earlier resident's row holds its index entry.
    ever_used = {row[1] for row in before["residents"]}
    last = next(p for p in reversed(chosen) if p["bedspace"] not in ever_used)
    intruder = "X-INTRUDER"

    def another_writer_takes_the_last_bed(_: Any) -> None:
        # Someone bypassing the service fills one of the proposed bed-spaces, so the
        # database's one-person-per-bed-space index fails in the middle of the batch.
        run_sql(
            postgres_url,
            "INSERT INTO residents (id, bedspace, gender, age, risk, flags, support_hours) "
            "VALUES (%s, %s, 'man', 30, 'low', '[]', 0)",
            (intruder, last["bedspace"]),
        )

    engine = pg.client.app.state.engine  # type: ignore[attr-defined]
    with fault_at(
        engine, "INSERT INTO offers", another_writer_takes_the_last_bed, last["bedspace"]
    ) as fault:
        response = pg.client.post(f"/api/runs/{run['id']}/accept", json={}, headers=pg.as_role(C))
    assert fault.fired
    assert response.status_code == 409, response.text
    after = snapshot(postgres_url)
    injected = [r for r in after["residents"] if r[0] == intruder]
    assert len(injected) == 1
    after["residents"] = [r for r in after["residents"] if r[0] != intruder]
    assert after == before


REFERRAL_HEADER = "id,referred,age,gender,risk,priority,support_hours\n"


def referral_csv(ids: list[str]) -> bytes:
    rows = "".join(f"{i},2026-01-05,30,man,low,2,1\n" for i in ids)
    return (REFERRAL_HEADER + rows).encode()


def test_a_connection_dropped_half_way_through_an_import_stores_nothing(
    pg: Service, postgres_url: str
) -> None:
    headers = pg.as_role(C)
    waiting = pg.client.get("/api/referrals?status=waiting&limit=3", headers=headers).json()
    # Two existing referrals are updated (UPDATE first), then three new ones inserted.
    ids = [w["id"] for w in waiting[:2]] + ["N90001", "N90002", "N90003"]
    before = snapshot(postgres_url)
    engine = pg.client.app.state.engine  # type: ignore[attr-defined]
    upload = {"file": ("referrals.csv", referral_csv(ids), "text/csv")}
    with fault_at(engine, "INSERT INTO referrals", kill_connection(postgres_url)) as fault:
        response = pg.client.post("/api/import/referrals", files=upload, headers=headers)
    assert fault.fired
    assert response.status_code == 503, response.text
    assert snapshot(postgres_url) == before
    again = pg.client.post("/api/import/referrals", files=upload, headers=headers)
    assert again.status_code == 200, again.text
    assert import_counts(again.json()) == {"kind": "referrals", "created": 3, "updated": 2}


def test_a_constraint_failing_half_way_through_an_import_stores_nothing(
    pg: Service, postgres_url: str
) -> None:
    headers = pg.as_role(C)
    ids = ["N91001", "N91002", "N91003"]

    def another_writer_takes_an_id(_: Any) -> None:
        run_sql(
            postgres_url,
            "INSERT INTO referrals (id, referred, age, gender, needs_women_only, "
            "wants_female_worker, household_size, risk, flags, support_hours, needs_24_7, "
            "needs_accessible, pathway, preferred_areas, excluded_areas, strengths, "
            "keep_apart, keep_together, priority, status) VALUES (%s, '2026-01-01', 40, "
            "'woman', false, false, 1, 'low', '[]', 1, false, false, 'recovery', '[]', '[]', "
            "'[]', '[]', '[]', 1, 'waiting')",
            (ids[-1],),
        )

    before = snapshot(postgres_url)
    engine = pg.client.app.state.engine  # type: ignore[attr-defined]
    upload = {"file": ("referrals.csv", referral_csv(ids), "text/csv")}
    # The last new row, as the import writes it: the others are already written.
    with fault_at(
        engine, "INSERT INTO referrals", another_writer_takes_an_id, carrying=ids[-1]
    ) as fault:
        response = pg.client.post("/api/import/referrals", files=upload, headers=headers)
    assert fault.fired
    assert response.status_code == 409, response.text
    after = snapshot(postgres_url)
    after["referrals"] = [r for r in after["referrals"] if r[0] != ids[-1]]
    before["referrals"] = [r for r in before["referrals"] if r[0] != ids[-1]]
    assert after == before
