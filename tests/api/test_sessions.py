"""Sessions: signing out revokes the token server-side, in every worker process; an API write
signed in by the page cookie needs the page's CSRF token."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from api.app import create_app
from api.security import Role
from tests.api.conftest import Service, settings_for, start_service
from tests.api.helpers import counts


def page_sign_in(client: TestClient, username: str, password: str) -> str:
    """Sign in through the form; the cookie's token."""
    response = client.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return str(response.cookies["bedmatch_token"])


def page_csrf(client: TestClient, cookie: str) -> str:
    page = client.get("/", cookies={"bedmatch_token": cookie})
    found = re.search(r'<meta name="csrf-token" content="([0-9a-f]+)">', page.text)
    assert found, page.text
    return found.group(1)


def test_a_signed_out_cookie_no_longer_works(service: Service) -> None:
    client = service.client
    cookie = page_sign_in(client, "coordinator", "coordinator-demo")
    other = page_sign_in(client, "coordinator", "coordinator-demo")  # another browser
    client.cookies.clear()
    jar = {"bedmatch_token": cookie}
    assert client.get("/api/auth/me", cookies=jar).status_code == 200
    out = client.post(
        "/logout",
        data={"csrf_token": page_csrf(client, cookie)},
        cookies=jar,
        follow_redirects=False,
    )
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/api/auth/me", cookies=jar).status_code == 401
    page = client.get("/referrals", cookies=jar, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    # Only that sign-in ended: the same person's other browser is still signed in.
    assert client.get("/api/auth/me", cookies={"bedmatch_token": other}).status_code == 200


def test_a_signed_out_token_is_refused_by_every_worker(database_url: str) -> None:
    """Two processes' apps on one database: a sign-out through one is refused by the other
    at once (its signature check is cached; revocation is asked with the account)."""
    settings = settings_for(database_url)
    with TestClient(create_app(settings)) as first, TestClient(create_app(settings)) as second:
        token = first.post(
            "/api/auth/token", data={"username": "housing", "password": "housing-demo"}
        ).json()["access_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        for client in (first, second):  # both have checked (and cached) its signature
            assert client.get("/api/vacancies", headers=bearer).status_code == 200
        assert second.post("/api/auth/logout", headers=bearer).status_code == 204
        for client in (first, second):
            assert client.get("/api/vacancies", headers=bearer).status_code == 401
            assert client.post("/api/auth/logout", headers=bearer).status_code == 401


def test_cookie_api_writes_need_the_pages_csrf_token(sqlite_url: str) -> None:
    for service in start_service(sqlite_url):
        client = service.client
        cookie = page_sign_in(client, "admin", "admin-demo")
        client.cookies.clear()
        jar = {"bedmatch_token": cookie}
        before = counts(client)
        new_user = {"username": "mallory", "password": "x" * 12, "role": "admin"}
        for headers in ({}, {"X-CSRF-Token": "0" * 40}):
            forged = client.post("/api/users", json=new_user, cookies=jar, headers=headers)
            assert forged.status_code == 403, forged.text
            assert "X-CSRF-Token" in forged.json()["detail"]
            closed = client.delete("/api/users/housing", cookies=jar, headers=headers)
            assert closed.status_code == 403
        assert counts(client) == before
        users = client.get("/api/users", headers=service.as_role(Role.admin)).json()
        assert "mallory" not in {u["username"] for u in users}
        assert all(u["active"] for u in users)
        # Reads need no token; the page's token lets a write through.
        assert client.get("/api/users", cookies=jar).status_code == 200
        token = {"X-CSRF-Token": page_csrf(client, cookie)}
        made = client.post("/api/users", json=new_user, cookies=jar, headers=token)
        assert made.status_code == 201, made.text
        # A bearer token is never sent by a browser on its own: it needs no CSRF token.
        bearer = service.as_role(Role.admin)
        assert client.delete("/api/users/mallory", headers=bearer).status_code == 200
