"""Consistency on a real PostgreSQL server: simultaneous placements, all-or-nothing batches,
migrations that go down as well as up."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import inspect, select

from api.config import Settings
from api.db import make_engine, make_sessionmaker
from api.migrations import downgrade, upgrade
from api.orm import PlacementRow, ResidentRow
from api.security import Principal, Role
from api.services import placements
from api.services.assemble import ProblemCache
from api.services.errors import Conflict
from matcher.model import Assignment
from tests.api.conftest import Service, start_service
from tests.api.helpers import counts, placeable


@pytest.fixture
def pg_service(postgres_url: str) -> Any:
    yield from start_service(postgres_url)


def contested_beds(service: Service, rounds: int) -> list[tuple[str, str, str]]:
    """Bed-spaces two different waiting referrals may each take: (bed, first, second)."""
    found: list[tuple[str, str, str]] = []
    used: set[str] = set()
    for bed, options in sorted(placeable(service.client).items()):
        people = [r for r, _ in options if r not in used]
        if len(people) >= 2:
            found.append((bed, people[0], people[1]))
            used.update(people[:2])
        if len(found) == rounds:
            break
    assert len(found) == rounds, "the demo portfolio should have contested bed-spaces"
    return found


def _attempt(
    factory: Any,
    start: threading.Barrier,
    outcomes: dict[str, object],
    as_of: Any,
    referral: str,
    bed: str,
    coordinator: str,
    cache: ProblemCache | None,
) -> None:
    user = Principal(coordinator, Role.coordinator)
    with factory() as session:  # each coordinator has their own session and connection
        start.wait()
        try:
            placements.place(
                session, user, as_of, referral, bed, reason="at the same moment", cache=cache
            )
            outcomes[referral] = "placed"
        except Conflict as refusal:
            outcomes[referral] = refusal


def test_two_coordinators_placing_into_one_bed_space_at_once_one_wins(
    pg_service: Service,
) -> None:
    service = pg_service
    factory = service.client.app.state.sessionmaker  # type: ignore[attr-defined]
    as_of = service.settings.placement_date()
    for round_number, (bed, first, second) in enumerate(contested_beds(service, rounds=4)):
        start = threading.Barrier(2)
        outcomes: dict[str, object] = {}
        # Half the rounds share a ranking cache, as requests to one service do.
        cache = ProblemCache() if round_number % 2 else None
        threads = [
            threading.Thread(
                target=_attempt,
                args=(factory, start, outcomes, as_of, referral, bed, name, cache),
            )
            for referral, name in ((first, "coordinator-a"), (second, "coordinator-b"))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        results = [outcomes[first], outcomes[second]]
        assert results.count("placed") == 1, results
        refusal = next(r for r in results if isinstance(r, Conflict))
        assert bed in refusal.message
        with factory() as session:
            in_bed = session.scalars(
                select(ResidentRow.id).where(
                    ResidentRow.bedspace == bed, ResidentRow.left_on.is_(None)
                )
            ).all()
        assert len(in_bed) == 1


def test_the_same_race_over_http_gives_one_201_and_one_409(pg_service: Service) -> None:
    service = pg_service
    bed, first, second = contested_beds(service, rounds=1)[0]
    start = threading.Barrier(2)
    codes: dict[str, int] = {}

    def attempt(referral: str) -> None:
        start.wait()
        response = service.client.post(
            "/api/placements",
            json={"referral": referral, "bedspace": bed, "reason": "same moment"},
            headers=service.as_role(Role.coordinator),
        )
        codes[referral] = response.status_code

    threads = [threading.Thread(target=attempt, args=(r,)) for r in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(codes.values()) == [201, 409]


def test_a_batch_that_fails_half_way_stores_nothing(pg_service: Service) -> None:
    service = pg_service
    factory = service.client.app.state.sessionmaker  # type: ignore[attr-defined]
    (bed_a, ref_a, _), (bed_b, ref_b, ref_c) = contested_beds(service, rounds=2)
    before = counts(service.client)
    with factory() as session:
        # The demo's history holds placements already: none may be added.
        placed_before = set(session.scalars(select(PlacementRow.id)))
    user = Principal("coordinator", Role.coordinator)
    batch = [
        Assignment(referral=ref_a, bedspace=bed_a),  # fine on its own
        Assignment(referral=ref_b, bedspace=bed_b),
        Assignment(referral=ref_c, bedspace=bed_b),  # the same bed-space: refused
    ]
    with factory() as session, pytest.raises(Conflict):
        placements.place_many(session, user, service.settings.placement_date(), batch, None)
    assert counts(service.client) == before
    with factory() as session:
        assert set(session.scalars(select(PlacementRow.id))) == placed_before


def test_migrations_downgrade_to_nothing_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(Settings(database_url=database_url).database_url)
    try:
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"units", "referrals", "placements", "audit_events", "users"} <= tables
        with make_sessionmaker(engine)() as session:
            assert session.scalar(select(ResidentRow.id).limit(1)) is None
    finally:
        engine.dispose()
