"""Access control, proven per role per endpoint and beyond the responses.

The matrix is generated from the app's route table and the access rules in
`tests/api/test_access.py` (one rule table, not two): a route without a rule fails here too.
Each (route, role) is its own test: allowed roles are let through without a server error,
other roles get a 403 that names the problem and shows no person, and signed-out callers a
401 (API) or the sign-in page (pages). Then: no person's details and no refuge address in the
logs, even when a request fails inside the database; tokens expire on the configured time;
the sign-in form is throttled; passwords are stored only as argon2 hashes; every page carries
the security headers; and every form post without this sign-in's CSRF token changes nothing.
"""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import func, select

from api.app import create_app, route_table
from api.config import Settings
from api.demo import DEMO_LOGINS
from api.orm import AllocationRunRow, AuditEventRow, ScenarioRow, UnitRow
from api.security import ALGORITHM, Principal, Role, create_token
from tests.api.conftest import SECRET, Service, settings_for, start_service
from tests.api.helpers import counts
from tests.api.test_access import PERSON_ID, PUBLIC, RULES, UNDOCUMENTED, call
from tests.reliability.faults import fault_at, snapshot
from tests.reliability.live import live_service

ANONYMOUS = "anonymous"


def all_routes() -> list[tuple[str, str]]:
    app = create_app(Settings(database_url="sqlite://", secret_key=SECRET))
    return [(m, p) for m, p, _ in route_table(app) if p not in UNDOCUMENTED]


MATRIX = [(m, p, who) for m, p in all_routes() for who in [*Role, ANONYMOUS]]


@pytest.fixture(scope="module")
def matrix_service(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    path = tmp_path_factory.mktemp("matrix") / "matrix.db"
    shutil.copy(sqlite_template, path)
    yield from start_service(f"sqlite:///{path}")


def page_cookie(service: Service, role: Role) -> dict[str, str]:
    return {"Cookie": "bedmatch_token=" + service.as_role(role)["Authorization"].split()[1]}


def reads_by(service: Service, username: str) -> int:
    factory = service.client.app.state.sessionmaker  # type: ignore[attr-defined]
    with factory() as session:
        found = session.scalar(
            select(func.count())
            .select_from(AuditEventRow)
            .where(AuditEventRow.username == username, AuditEventRow.action == "read")
        )
    return int(found or 0)


@pytest.mark.parametrize(
    ("method", "path", "who"), MATRIX, ids=[f"{m} {p} {w}" for m, p, w in MATRIX]
)
def test_route_role(matrix_service: Service, method: str, path: str, who: str) -> None:
    service = matrix_service
    assert (method, path) in RULES, f"{method} {path} has no access rule"
    allowed = RULES[(method, path)]
    is_page = not path.startswith("/api")
    if allowed is PUBLIC:  # sign-in and sign-out: refuse bad credentials, never crash
        assert call(service, method, path, {}).status_code < 500
        return
    if who == ANONYMOUS:
        response = call(service, method, path, {})
        if is_page:
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login")
        else:
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == "Bearer"
            assert response.json()["detail"]
        return
    role = Role(who)
    headers = page_cookie(service, role) if is_page else service.as_role(role)
    if role in allowed:
        response = call(service, method, path, headers)
        assert response.status_code not in (401, 403), response.text
        assert response.status_code < 500, response.text
        return
    username = next(name for name, (_, r) in DEMO_LOGINS.items() if r == role)
    before = (counts(service.client), reads_by(service, username))
    response = call(service, method, path, headers)
    assert response.status_code == 403, response.text
    if is_page:
        assert 'id="forbidden"' in response.text
    else:
        assert response.json()["detail"] == "your role may not do this"
    assert not PERSON_ID.search(response.text)
    assert (counts(service.client), reads_by(service, username)) == before


def test_the_matrix_covers_every_route_and_role() -> None:
    assert len(MATRIX) == len(all_routes()) * (len(Role) + 1)
    assert len(all_routes()) >= 60


# --- logs ---------------------------------------------------------------------------------

SENSITIVE_FLAGS = ("mental_health", "substance_use", "da_victim", "da_perpetrator", "mappa_")
REASON = "moving near her sister after leaving a violent partner"


def test_logs_hold_no_personal_data_or_refuge_address_even_when_the_database_fails(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = settings_for(sqlite_url)
    with live_service(settings) as live, httpx.Client(base_url=live.base_url) as http:
        engine = live.app.state.engine  # type: ignore[attr-defined]
        coordinator = live.headers[Role.coordinator]
        waiting = http.get(
            "/api/referrals", params={"limit": 1000, "status": "waiting"}, headers=coordinator
        ).json()
        flagged = [w for w in waiting if set(w["flags"]) & set(SENSITIVE_FLAGS)]
        placed = 0
        for referral in flagged:
            ranked = http.get(
                f"/api/referrals/{referral['id']}/rank", params={"top": 50}, headers=coordinator
            ).json()["ranked"]
            options = [r for r in ranked if not r["partners"]]
            if len(options) < 2:
                continue
            body = {"referral": referral["id"], "bedspace": options[1]["bedspace"]}

            def failing_write(_: Any) -> None:
                raise sqlite3.InternalError("internal error")  # e.g. a disk or driver fault

            if not placed:  # the first attempt fails inside the database
                with fault_at(engine, "INSERT INTO residents", failing_write) as fault:
                    # uvicorn closes a connection after an unhandled error: use a new one.
                    broken = httpx.post(
                        f"{live.base_url}/api/placements",
                        json={**body, "reason": REASON},
                        headers=coordinator,
                    )
                assert fault.fired and broken.status_code == 500
            done = http.post(
                "/api/placements", json={**body, "reason": REASON}, headers=coordinator
            )
            assert done.status_code == 201, done.text
            placed += 1
            if placed == 2:
                break
        assert placed == 2, "the demo portfolio should have flagged referrals to place"
        for role in Role:
            for url in ("/api/vacancies", "/api/units", "/api/stats", "/vacancies"):
                http.get(url, headers=live.headers[role])
    with live.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        addresses = [u.address for u in session.scalars(select(UnitRow)) if u.confidential_address]
    logged = caplog.text
    assert "Exception in ASGI application" in logged  # the failure was logged, and read here
    assert REASON not in logged
    for flag in SENSITIVE_FLAGS:
        assert flag not in logged, flag
    for address in addresses:
        assert address and address not in logged
    assert "[parameters:" not in logged


# --- tokens, sign-in, passwords -----------------------------------------------------------


def test_tokens_expire_after_the_configured_minutes(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for service in start_service(sqlite_url, token_minutes=1):
        client = service.client
        signed_in = client.post(
            "/api/auth/token", data={"username": "coordinator", "password": "coordinator-demo"}
        ).json()
        assert signed_in["expires_in"] == 60
        claims = jwt.decode(signed_in["access_token"], SECRET, algorithms=[ALGORITHM])
        assert claims["exp"] - claims["iat"] == 60
        page = client.post(
            "/login",
            data={"username": "coordinator", "password": "coordinator-demo"},
            follow_redirects=False,
        )
        assert "Max-Age=60" in page.headers["set-cookie"]

        class SixtyOneSecondsAgo(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
                return datetime.now(tz or UTC) - timedelta(seconds=61)

        monkeypatch.setattr("api.security.datetime", SixtyOneSecondsAgo)
        stale = create_token(service.settings, Principal("coordinator", Role.coordinator))
        monkeypatch.undo()
        api = client.get("/api/referrals", headers={"Authorization": f"Bearer {stale}"})
        assert api.status_code == 401
        pages = client.get("/referrals", cookies={"bedmatch_token": stale}, follow_redirects=False)
        assert pages.status_code == 303 and pages.headers["location"].startswith("/login")


def test_the_sign_in_form_is_throttled_too(sqlite_url: str) -> None:
    for service in start_service(sqlite_url, login_attempts_per_minute=3):
        attempts = [
            service.client.post(
                "/login", data={"username": "coordinator", "password": f"guess-{i}"}
            ).status_code
            for i in range(4)
        ]
        assert attempts == [401, 401, 401, 429]
        right = service.client.post(
            "/login",
            data={"username": "coordinator", "password": "coordinator-demo"},
            follow_redirects=False,
        )
        assert right.status_code == 429 and "bedmatch_token" not in right.headers.get(
            "set-cookie", ""
        )


def test_guessing_across_many_usernames_from_one_client_is_throttled(sqlite_url: str) -> None:
    """Password spraying: one guess per account stays under each account's limit, so the
    client as a whole has a limit too (a few times one account's, for a shared office)."""
    for service in start_service(sqlite_url, login_attempts_per_minute=3):
        codes = [
            service.client.post(
                "/api/auth/token", data={"username": f"user{i}", "password": "Winter2026!"}
            ).status_code
            for i in range(14)
        ]
        assert codes[:12] == [401] * 12
        assert codes[12:] == [429, 429]


def test_a_new_password_is_stored_only_as_an_argon2_hash(sqlite_url: str) -> None:
    password = "correct horse battery staple 42"
    for service in start_service(sqlite_url):
        created = service.client.post(
            "/api/users",
            json={"username": "new.coordinator", "password": password, "role": "coordinator"},
            headers=service.as_role(Role.admin),
        )
        assert created.status_code == 201, created.text
        assert password not in created.text
        tables = snapshot(sqlite_url)
        stored = [row for row in tables["users"] if "new.coordinator" in row]
        assert len(stored) == 1
        assert any(str(cell).startswith("$argon2id$") for cell in stored[0])
        assert password not in repr(tables)
        signed_in = service.client.post(
            "/api/auth/token", data={"username": "new.coordinator", "password": password}
        )
        assert signed_in.status_code == 200


# --- pages: headers and CSRF --------------------------------------------------------------


def run_count(client: Any) -> int:
    with client.app.state.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(AllocationRunRow)) or 0)


def scenario_state(client: Any) -> list[tuple[int, str, str]]:
    with client.app.state.sessionmaker() as session:
        rows = session.scalars(select(ScenarioRow).order_by(ScenarioRow.id))
        return [(r.id, r.status, json.dumps(r.plan, sort_keys=True)) for r in rows]


PAGE_GETS = [p for m, p in all_routes() if m == "GET" and not p.startswith("/api")]
FORM_POSTS = [p for m, p in all_routes() if m == "POST" and not p.startswith("/api")]


def test_every_page_and_answer_carries_the_security_headers(matrix_service: Service) -> None:
    service = matrix_service
    checked = 0
    for path in PAGE_GETS + ["/api/vacancies"]:
        headers = page_cookie(service, Role.coordinator)
        if path.startswith("/api"):
            headers = service.as_role(Role.coordinator)
        response = call(service, "GET", path, headers)
        assert response.status_code < 500, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"], path
        assert response.headers["Cache-Control"] == "no-store", path
        checked += 1
    assert checked == len(PAGE_GETS) + 1 >= 8


@pytest.mark.parametrize("path", [p for p in FORM_POSTS if p != "/login"])
def test_every_form_post_needs_this_sign_ins_csrf_token(sqlite_url: str, path: str) -> None:
    """The sign-in form itself has nothing to protect (no session yet; cookies are
    SameSite=strict); every other form changes something and must carry the token."""
    for service in start_service(sqlite_url):
        client = service.client
        url = path.format(
            referral_id="R00002",
            run_id=1,
            username="coordinator",
            resident_id="R00001",
            placement_id=1,
            offer_id=1,
            scenario_id=1,
            member_id=1,
        )
        who = Role.coordinator
        if path.startswith("/admin/"):
            who = Role.admin
        elif path.startswith("/scenarios"):
            who = Role.commissioner
        cookies = page_cookie(service, who)
        forms: dict[str, Any] = {"bedspace": "B00001", "reason": "x", "backend": "greedy"}
        before = (counts(client), run_count(client), scenario_state(client))
        for token in (None, "0" * 40):
            data = forms if token is None else {**forms, "csrf_token": token}
            response = client.post(url, data=data, headers=cookies, follow_redirects=False)
            assert response.status_code == 400, (url, response.status_code)
        assert (counts(client), run_count(client), scenario_state(client)) == before


def test_the_form_posts_are_the_ones_expected() -> None:
    assert set(FORM_POSTS) == {
        "/login",
        "/logout",
        "/referrals/{referral_id}/place",
        "/referrals/new",
        "/referrals/{referral_id}/edit",
        "/runs",
        "/runs/{run_id}/accept",
        "/admin/settings/nightly-move-outs",
        "/referrals/{referral_id}/offer",
        "/offers/{offer_id}/accept",
        "/offers/{offer_id}/decline",
        "/offers/{offer_id}/withdraw",
        "/admin/settings/offer-days",
        "/scenarios",
        "/scenarios/{scenario_id}/plan",
        "/scenarios/{scenario_id}/run",
        "/admin/users",
        "/admin/users/{username}/close",
        "/import",
        "/import/confirm",
        "/residents/{resident_id}/arrival",
        "/residents/{resident_id}/move-out",
        "/residents/{resident_id}/transfer",
        "/placements/{placement_id}/undo",
        "/runs/{run_id}/floor",
        "/referrals/{referral_id}/support",
        "/support-placements/{placement_id}/end",
        "/by-name-list",
        "/by-name-list/{member_id}/contact",
        "/by-name-list/{member_id}/leave",
        "/admin/settings/list-inactive-days",
    }
