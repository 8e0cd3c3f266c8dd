"""Sign-in: argon2 hashes, expiring signed tokens, throttled attempts, no default admin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import select

from api import security
from api.config import Settings
from api.orm import UserRow
from api.security import ALGORITHM, Role
from tests.api.conftest import SECRET, Service, start_service


def test_an_expired_or_forged_token_is_refused(sqlite_service: Service) -> None:
    client = sqlite_service.client
    past = datetime.now(UTC) - timedelta(minutes=5)
    expired = jwt.encode(
        {"sub": "admin", "role": "admin", "exp": past}, SECRET, algorithm=ALGORITHM
    )
    forged = jwt.encode(
        {"sub": "admin", "role": "admin", "exp": past + timedelta(hours=1)},
        "another-key-of-the-recommended-length",  # 32 bytes or more, as PyJWT asks
        algorithm=ALGORITHM,
    )
    for token in (expired, forged, "not-a-token"):
        response = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_a_token_accepted_before_is_refused_once_it_expires(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signature of a token is checked once; its expiry on every request."""
    client = sqlite_service.client
    expires = datetime.now(UTC) + timedelta(minutes=10)
    token = jwt.encode(
        {"sub": "admin", "role": "admin", "jti": "t1", "exp": expires},
        SECRET,
        algorithm=ALGORITHM,
    )
    for _ in range(2):  # the second answer comes from the checked signature
        me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
    # The same claims under a changed signature are not the token that was checked.
    head, body, signature = token.split(".")
    tampered = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    answer = client.get("/api/auth/me", headers={"Authorization": f"Bearer {tampered}"})
    assert answer.status_code == 401

    monkeypatch.setattr(security, "_now", lambda: expires.timestamp() + 1)
    late = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert late.status_code == 401
    monkeypatch.setattr(security, "_now", lambda: expires.timestamp() - 1)
    assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).is_success


def test_a_real_sign_in_gives_a_token_for_the_role(sqlite_service: Service) -> None:
    client = sqlite_service.client
    response = client.post(
        "/api/auth/token", data={"username": "housing", "password": "housing-demo"}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"username": "housing", "role": Role.housing_options.value}


def test_passwords_are_stored_as_argon2_hashes(sqlite_service: Service) -> None:
    factory = sqlite_service.client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        hashes = session.scalars(select(UserRow.password_hash)).all()
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any("demo" in h for h in hashes)


def test_repeated_failed_sign_ins_are_throttled(sqlite_url: str) -> None:
    for service in start_service(sqlite_url, login_attempts_per_minute=3):
        client = service.client
        codes = [
            client.post(
                "/api/auth/token", data={"username": "admin", "password": f"guess-{i}"}
            ).status_code
            for i in range(4)
        ]
        assert codes == [401, 401, 401, 429]
        # Even the right password waits out the window.
        right = client.post("/api/auth/token", data={"username": "admin", "password": "admin-demo"})
        assert right.status_code == 429
        assert "Retry-After" in right.headers


def test_outside_the_demo_there_is_no_account_until_an_admin_is_configured(
    tmp_path: object,
) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app

    url = f"sqlite:///{tmp_path}/fresh.db"
    with TestClient(create_app(Settings(database_url=url, secret_key=SECRET))) as client:
        for name, password in (("admin", "admin-demo"), ("admin", "admin")):
            response = client.post("/api/auth/token", data={"username": name, "password": password})
            assert response.status_code == 401
    settings = Settings(database_url=url, secret_key=SECRET, admin_password="a-long-secret-phrase")
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/auth/token", data={"username": "admin", "password": "a-long-secret-phrase"}
        )
        assert response.status_code == 200
        assert response.json()["role"] == "admin"


def _page_cookie(service: Service, role: Role) -> dict[str, str]:
    return {"bedmatch_token": service.as_role(role)["Authorization"].split()[1]}


def test_page_forms_need_the_token_rendered_for_this_sign_in(sqlite_service: Service) -> None:
    from tests.api.helpers import counts

    client = sqlite_service.client
    cookies = _page_cookie(sqlite_service, Role.coordinator)
    page = client.get("/referrals/R00002", cookies=cookies)
    assert 'name="csrf_token"' in page.text
    before = counts(client)
    forged = client.post(
        "/referrals/R00002/place",
        data={"bedspace": "B00001", "reason": "cross-site"},
        cookies=cookies,
    )
    assert forged.status_code == 400
    other = client.post(
        "/runs", data={"backend": "greedy", "csrf_token": "0" * 40}, cookies=cookies
    )
    assert other.status_code == 400
    assert counts(client) == before
    assert client.get("/api/runs", headers=sqlite_service.as_role(Role.coordinator)).json() == []


def test_pages_carry_security_headers(sqlite_service: Service) -> None:
    page = sqlite_service.client.get(
        "/vacancies", cookies=_page_cookie(sqlite_service, Role.housing_options)
    )
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page.text  # scripts come from /static only (CSP: no inline)


def test_a_closed_account_loses_access_at_once(service: Service) -> None:
    """On SQLite the account is read on the event loop, on PostgreSQL in the thread pool:
    both see the change on the next request."""
    client = service.client
    housing = service.as_role(Role.housing_options)
    assert client.get("/api/vacancies", headers=housing).status_code == 200
    closed = client.delete("/api/users/housing", headers=service.as_role(Role.admin))
    assert closed.status_code == 200 and closed.json()["active"] is False
    assert client.get("/api/vacancies", headers=housing).status_code == 401
    again = client.post("/api/auth/token", data={"username": "housing", "password": "housing-demo"})
    assert again.status_code == 401


def test_the_api_docs_load_nothing_from_elsewhere(sqlite_service: Service) -> None:
    """`/docs` and `/redoc` work on a network with no internet: every script, style sheet
    and image they load is served by bedmatch itself."""
    import re

    client = sqlite_service.client
    for page in ("/docs", "/redoc"):
        html = client.get(page)
        assert html.status_code == 200
        assets = re.findall(r'(?:src|href)=["\']([^"\']+)["\']', html.text)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} loads {asset} from elsewhere"
            assert client.get(asset).status_code == 200, asset
