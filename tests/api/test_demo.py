"""Demo data only in a demo: the public demo logins exist only in a database created as the
demo, never in one that has had a real admin, and a demo says so on every page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select

from api.app import create_app, prepare_database
from api.cli import main
from api.config import Settings
from api.db import make_engine, make_sessionmaker
from api.demo import DEMO_LOGINS, DatabaseKind, NotADemoDatabase, kind_of
from api.migrations import upgrade
from api.orm import AuditEventRow, ServiceSettingRow, UserRow
from api.security import hash_password
from api.services import service_settings
from api.services.users import DemoDatabaseRefused
from tests.api.conftest import DEMO_SIZE, SECRET, settings_for

REAL_PASSWORD = "a-long-real-admin-password"


def real_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, Any] = {"database_url": url, "secret_key": SECRET, "insecure_http": True}
    return Settings(**{**values, **DEMO_SIZE, **overrides})


def prepare(settings: Settings) -> bool:
    engine = make_engine(settings.database_url)
    try:
        return prepare_database(settings, engine)
    finally:
        engine.dispose()


def sign_in(client: TestClient, username: str, password: str) -> int:
    response = client.post("/api/auth/token", data={"username": username, "password": password})
    return response.status_code


def no_demo_login_works(client: TestClient) -> bool:
    return all(sign_in(client, name, pw) == 401 for name, (pw, _) in DEMO_LOGINS.items())


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[Any]]:
    """`bedmatch serve` in an empty directory with no database configured (so on
    `bedmatch.db`, where the demo is the default); each app it would have served."""
    apps: list[Any] = []
    monkeypatch.chdir(tmp_path)
    for variable in ("BEDMATCH_DATABASE_URL", "DATABASE_URL", "BEDMATCH_ADMIN_PASSWORD"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("BEDMATCH_SECRET_KEY", SECRET)
    monkeypatch.setattr("uvicorn.run", lambda app, **_: apps.append(app))
    yield apps


def test_a_database_that_had_a_real_admin_never_gets_the_demo_logins_from_serve(
    served: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """Started with `--no-demo --admin-password`, then restarted with a plain `bedmatch
    serve`: served without demo data, with a message; `--demo` on it is refused."""
    assert main(["serve", "--no-demo", "--admin-password", REAL_PASSWORD]) == 0
    assert main(["serve"]) == 0
    assert "not a demo database" in capsys.readouterr().err
    assert main(["serve", "--demo"]) == 2
    assert "--demo: this database is not a demo database" in capsys.readouterr().err
    assert len(served) == 2
    with TestClient(served[-1]) as client:
        assert no_demo_login_works(client)
        assert sign_in(client, "admin", REAL_PASSWORD) == 200
        assert 'id="demo-banner"' not in client.get("/login").text
    with make_sessionmaker(make_engine("sqlite:///bedmatch.db"))() as session:
        names = set(session.scalars(select(UserRow.username)))
    assert names == {"admin"}


def test_the_demo_is_the_default_only_in_a_demo(served: list[Any]) -> None:
    assert main(["serve"]) == 0  # a new bedmatch.db: the demo
    assert main(["serve"]) == 0  # the same again
    assert main(["serve", "--admin-password", REAL_PASSWORD]) == 2  # no real admin in it
    for app in served:
        with TestClient(app) as client:
            assert sign_in(client, "coordinator", "coordinator-demo") == 200
            assert 'id="demo-banner"' in client.get("/login").text


def test_demo_data_is_refused_in_a_database_with_a_real_admin(empty_database_url: str) -> None:
    url = empty_database_url
    assert prepare(real_settings(url, admin_password=REAL_PASSWORD)) is False
    with pytest.raises(NotADemoDatabase):
        prepare(real_settings(url, demo=True))
    with pytest.raises(NotADemoDatabase), TestClient(create_app(real_settings(url, demo=True))):
        pass
    with TestClient(create_app(real_settings(url))) as client:
        assert no_demo_login_works(client)
        assert sign_in(client, "admin", REAL_PASSWORD) == 200


def test_a_real_admin_is_refused_in_the_demo_database(empty_database_url: str) -> None:
    url = empty_database_url
    assert prepare(real_settings(url, demo=True)) is True
    with pytest.raises(DemoDatabaseRefused):
        prepare(real_settings(url, admin_password=REAL_PASSWORD))
    with TestClient(create_app(real_settings(url))) as client:
        assert sign_in(client, "admin", REAL_PASSWORD) == 401


def test_demo_logins_an_older_version_added_to_a_real_database_are_closed(
    empty_database_url: str,
) -> None:
    """What the old restart did: the demo logins added to a database with a real admin.
    They are closed at the next start, and the closing is in the audit trail."""
    url = empty_database_url
    prepare(real_settings(url, admin_password=REAL_PASSWORD))
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        for name, (password, role) in DEMO_LOGINS.items():
            if name != "admin":
                hashed = hash_password(password)
                session.add(UserRow(username=name, password_hash=hashed, role=role.value))
        session.commit()
    engine.dispose()
    with TestClient(create_app(real_settings(url))) as client:
        assert no_demo_login_works(client)
        assert sign_in(client, "admin", REAL_PASSWORD) == 200
        with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
            closed = set(
                session.scalars(
                    select(AuditEventRow.subject_id).where(AuditEventRow.action == "deactivate")
                )
            )
    assert closed == {"coordinator", "housing", "commissioner"}


def test_a_database_from_before_the_marks_is_classified_by_its_accounts(
    empty_database_url: str,
) -> None:
    """Only demo logins on their public passwords: the demo. Any other account: real."""
    engine = make_engine(empty_database_url)
    upgrade(engine)
    try:
        with make_sessionmaker(engine)() as session:
            assert kind_of(session) is DatabaseKind.empty
            session.execute(
                insert(UserRow),
                [
                    {"username": name, "password_hash": hash_password(pw), "role": role.value}
                    for name, (pw, role) in DEMO_LOGINS.items()
                ],
            )
            session.commit()
            assert kind_of(session) is DatabaseKind.demo
            session.execute(delete(ServiceSettingRow))  # as it was before the marks
            kim = {"username": "kim", "password_hash": hash_password("x" * 12), "role": "admin"}
            session.execute(insert(UserRow), [kim])
            session.commit()
            assert kind_of(session) is DatabaseKind.real
            assert service_settings.is_on(session, service_settings.HAD_REAL_ADMIN)
    finally:
        engine.dispose()


def test_a_demo_says_so_on_every_page(sqlite_url: str) -> None:
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        pages = [client.get("/login")]
        signed_in = client.post("/login", data={"username": "housing", "password": "housing-demo"})
        assert signed_in.status_code == 200
        pages += [client.get(path) for path in ("/", "/vacancies", "/stats", "/referrals")]
        assert pages[-1].status_code == 403  # the forbidden page too
        for page in pages:
            assert 'id="demo-banner"' in page.text, page.url
