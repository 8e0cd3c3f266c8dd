"""Sign-in: forwarded addresses believed only from trusted proxies; throttling per account
whatever the address, per address without locking out the people who sign in there; every
attempt in the audit trail; usernames one account whatever their case."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from api.db import make_engine, make_sessionmaker
from api.migrations import downgrade, upgrade
from api.orm import AuditEventRow, UserRow
from api.security import Role
from tests.api.conftest import Service, start_service

PROXY = "testclient"  # the address the test client connects from


def attempt(client: TestClient, username: str, password: str, address: str | None = None) -> int:
    headers = {"X-Forwarded-For": address} if address else {}
    response = client.post(
        "/api/auth/token", data={"username": username, "password": password}, headers=headers
    )
    return response.status_code


@pytest.fixture
def behind_proxy(sqlite_url: str) -> Iterator[Service]:
    """The service behind a trusted proxy, 3 failed sign-ins a minute per account and
    address (so 6 per account, 12 per address)."""
    yield from start_service(sqlite_url, login_attempts_per_minute=3, trusted_proxies=PROXY)


def sign_in_events(service: Service) -> list[AuditEventRow]:
    with service.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        actions = ("sign_in", "sign_in_failed", "sign_in_refused", "sign_out")
        query = select(AuditEventRow).where(AuditEventRow.action.in_(actions))
        return list(session.scalars(query.order_by(AuditEventRow.id)))


def test_forwarded_addresses_are_ignored_unless_from_a_trusted_proxy(sqlite_url: str) -> None:
    """A new X-Forwarded-For on every guess starts no new count: by default no proxy is
    trusted, so every guess comes from the connection's own address."""
    for service in start_service(sqlite_url, login_attempts_per_minute=3):
        codes = [
            attempt(service.client, "admin", f"guess-{i}", f"203.0.113.{i}") for i in range(30)
        ]
        assert codes[:3] == [401] * 3 and set(codes[3:]) == {429}
        assert {e.subject_id for e in sign_in_events(service)} == {"testclient"}


def test_a_trusted_proxy_gives_the_client_address(behind_proxy: Service) -> None:
    assert attempt(behind_proxy.client, "admin", "admin-demo", "198.51.100.7") == 200
    (event,) = sign_in_events(behind_proxy)
    assert (event.action, event.username, event.subject_id) == ("sign_in", "admin", "198.51.100.7")


def test_one_account_guessed_from_many_addresses_is_throttled(behind_proxy: Service) -> None:
    codes = [
        attempt(behind_proxy.client, "admin", f"guess-{i}", f"203.0.113.{i}") for i in range(30)
    ]
    assert codes[:6] == [401] * 6 and set(codes[6:]) == {429}


def test_an_office_behind_one_address_is_not_locked_out(behind_proxy: Service) -> None:
    """Someone at the office sprays a password over many usernames: new usernames from
    that address wait, the coordinator who signs in there every day does not."""
    client, office = behind_proxy.client, "192.0.2.10"
    assert attempt(client, "coordinator", "coordinator-demo", office) == 200
    sprayed = [attempt(client, f"user{i}", "Winter2026!", office) for i in range(14)]
    assert sprayed[:12] == [401] * 12 and sprayed[12:] == [429, 429]
    assert attempt(client, "coordinator", "coordinator-demo", office) == 200
    # Someone who never signed in from the office waits out the minute.
    assert attempt(client, "housing", "housing-demo", office) == 429
    assert attempt(client, "housing", "housing-demo", "192.0.2.99") == 200


def test_guessing_an_account_does_not_lock_out_its_owner_at_her_address(
    behind_proxy: Service,
) -> None:
    client, desk = behind_proxy.client, "192.0.2.10"
    assert attempt(client, "coordinator", "coordinator-demo", desk) == 200
    guesses = [attempt(client, "coordinator", f"g{i}", f"203.0.113.{i}") for i in range(20)]
    assert set(guesses[6:]) == {429}
    assert attempt(client, "coordinator", "coordinator-demo", desk) == 200
    assert attempt(client, "coordinator", "coordinator-demo", "192.0.2.11") == 429
    # At her own address her own failures still count: limit 1 applies to everyone.
    assert [attempt(client, "coordinator", f"typo{i}", desk) for i in range(4)] == [
        401,
        401,
        401,
        429,
    ]


def test_every_sign_in_attempt_is_in_the_audit_trail(database_url: str) -> None:
    for service in start_service(database_url, login_attempts_per_minute=2, trusted_proxies=PROXY):
        client = service.client
        assert attempt(client, "Coordinator", "coordinator-demo", "192.0.2.1") == 200
        assert attempt(client, "coordinator", "wrong", "192.0.2.2") == 401
        assert attempt(client, "nobody\x00here", "wrong", "192.0.2.2") == 401
        assert attempt(client, "coordinator", "wrong", "192.0.2.2") == 401
        assert attempt(client, "coordinator", "coordinator-demo", "192.0.2.2") == 429
        token = client.post(
            "/api/auth/token",
            data={"username": "housing", "password": "housing-demo"},
            headers={"X-Forwarded-For": "192.0.2.3"},
        ).json()["access_token"]
        signed_out = client.post(
            "/api/auth/logout",
            headers={"Authorization": f"Bearer {token}", "X-Forwarded-For": "192.0.2.3"},
        )
        assert signed_out.status_code == 204
        events = [
            (e.action, e.username, e.role, e.subject_id, e.detail) for e in sign_in_events(service)
        ]
    assert events == [
        ("sign_in", "coordinator", "coordinator", "192.0.2.1", ""),
        ("sign_in_failed", "coordinator", "-", "192.0.2.2", "wrong password"),
        ("sign_in_failed", "nobody?here", "-", "192.0.2.2", "no such username"),
        ("sign_in_failed", "coordinator", "-", "192.0.2.2", "wrong password"),
        ("sign_in_refused", "coordinator", "-", "192.0.2.2", "throttled"),
        ("sign_in", "housing", "housing_options", "192.0.2.3", ""),
        ("sign_out", "housing", "housing_options", "192.0.2.3", ""),
    ]


def test_usernames_are_one_account_whatever_their_case(service: Service) -> None:
    client, admin = service.client, service.as_role(Role.admin)
    taken = client.post(
        "/api/users",
        json={"username": "CoOrdinator", "password": "x" * 12, "role": "admin"},
        headers=admin,
    )
    assert taken.status_code == 409
    signed_in = client.post(
        "/api/auth/token", data={"username": "COORDINATOR", "password": "coordinator-demo"}
    )
    assert signed_in.status_code == 200 and signed_in.json()["role"] == "coordinator"
    me = client.get(
        "/api/auth/me", headers={"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    )
    assert me.json()["username"] == "coordinator"
    closed = client.delete("/api/users/HOUSING", headers=admin)
    assert closed.status_code == 200 and closed.json()["username"] == "housing"
    assert client.delete("/api/users/ADMIN", headers=admin).status_code == 409  # herself
    # The database itself refuses a second account differing only in case.
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        session.add(UserRow(username="Admin", password_hash="-", role="admin"))
        with pytest.raises(IntegrityError):
            session.commit()


def test_upgrading_closes_accounts_differing_only_in_case(empty_database_url: str) -> None:
    """Before the upgrade `Kim` and `kim` could hold two roles: the older keeps the name;
    the other is closed, renamed and the change audited."""
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0002")
        with make_sessionmaker(engine)() as session:
            session.execute(
                insert(UserRow.__table__),  # type: ignore[arg-type]
                [
                    {"username": name, "password_hash": "-", "role": role, "active": True}
                    for name, role in (("kim", "housing_options"), ("Kim", "admin"))
                ],
            )
            session.commit()
        upgrade(engine)
        with make_sessionmaker(engine)() as session:
            rows = session.execute(
                select(UserRow.username, UserRow.role, UserRow.active).order_by(UserRow.id)
            ).all()
            assert [tuple(r) for r in rows] == [
                ("kim", "housing_options", True),
                ("Kim~2", "admin", False),
            ]
            (event,) = session.scalars(select(AuditEventRow))
            assert (event.action, event.subject_id) == ("deactivate", "Kim~2")
        downgrade(engine, "0002")
        upgrade(engine)
    finally:
        engine.dispose()


def test_a_username_check_is_one_statement_on_an_index(sqlite_url: str) -> None:
    """The sign-in lookup by lowered name uses the unique index, not a scan of accounts."""
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as connection:
            plan = connection.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id FROM users WHERE lower(username) = lower(:name)"
                ),
                {"name": "Kim"},
            ).all()
        assert "users_username_folded" in str(plan)
    finally:
        engine.dispose()


def test_a_flood_of_refused_sign_ins_is_counted_not_written_one_by_one(
    behind_proxy: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused attempt costs its sender nothing: refusals under one limit are written at
    most once every ten seconds, and the next event counts those in between."""
    from api import sign_in

    client, address = behind_proxy.client, "203.0.113.5"
    codes = [attempt(client, "admin", f"guess-{i}", address) for i in range(53)]
    assert codes[:3] == [401] * 3 and set(codes[3:]) == {429}
    refused = [e for e in sign_in_events(behind_proxy) if e.action == "sign_in_refused"]
    assert [e.detail for e in refused] == ["throttled"]
    monkeypatch.setattr(sign_in, "REFUSALS_RECORDED_EVERY", 0.0)
    assert attempt(client, "admin", "once more", address) == 429
    refused = [e for e in sign_in_events(behind_proxy) if e.action == "sign_in_refused"]
    assert refused[-1].detail == f"throttled; 50 refused under pair admin|{address}"
    assert len(refused) == 2


def test_a_huge_typed_username_is_kept_only_as_long_as_a_username(behind_proxy: Service) -> None:
    assert attempt(behind_proxy.client, "x" * 1_000_000, "guess", "203.0.113.9") == 401
    (event,) = sign_in_events(behind_proxy)
    assert event.username == "x" * 64
    throttle = behind_proxy.client.app.state.sign_in_throttle  # type: ignore[attr-defined]
    keys = [*throttle.pair._failures, *throttle.account._failures]
    assert keys and max(len(k) for k in keys) <= 65 + len("|203.0.113.9")
