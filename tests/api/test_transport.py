"""HTTPS: a `Secure` sign-in cookie and HSTS unless the service was started for plain-HTTP
local use; `bedmatch serve` picks plain HTTP only for the demo on a loopback address, and
leaves forwarded headers to the app's trusted proxies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.transport import HSTS
from tests.api.conftest import SECRET, settings_for

DEMO_SIGN_IN = {"username": "coordinator", "password": "coordinator-demo"}


def test_by_default_the_cookie_is_https_only_and_hsts_is_sent(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, insecure_http=False)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        signed_in = client.post("/login", data=DEMO_SIGN_IN, follow_redirects=False)
        cookie = signed_in.headers["set-cookie"]
        assert "bedmatch_token=" in cookie and "Secure" in cookie and "HttpOnly" in cookie
        for response in (signed_in, client.get("/login"), client.get("/api/auth/me")):
            assert response.headers["Strict-Transport-Security"] == HSTS
        assert 'id="https-needed"' not in client.get("/login").text
    with TestClient(create_app(settings)) as plain:  # reached over http://
        assert 'id="https-needed"' in plain.get("/login").text


def test_plain_http_for_local_use_drops_both(sqlite_url: str) -> None:
    settings = settings_for(sqlite_url, insecure_http=True)
    with TestClient(create_app(settings)) as client:
        signed_in = client.post("/login", data=DEMO_SIGN_IN, follow_redirects=False)
        assert "Secure" not in signed_in.headers["set-cookie"]
        assert "Strict-Transport-Security" not in client.get("/login").headers
        assert 'id="https-needed"' not in client.get("/login").text


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[tuple[Any, Any]]]:
    """`bedmatch serve` with uvicorn replaced: each (app, uvicorn options) it would serve."""
    runs: list[tuple[Any, Any]] = []
    monkeypatch.chdir(tmp_path)
    for variable in (
        "BEDMATCH_DATABASE_URL",
        "DATABASE_URL",
        "BEDMATCH_ADMIN_PASSWORD",
        "BEDMATCH_INSECURE_HTTP",
        "BEDMATCH_TRUSTED_PROXIES",
    ):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("BEDMATCH_SECRET_KEY", SECRET)
    monkeypatch.setattr("uvicorn.run", lambda app, **options: runs.append((app, options)))
    yield runs


def test_serve_uses_plain_http_only_for_the_demo_on_loopback(
    served: list[tuple[Any, Any]],
) -> None:
    real = f"sqlite:///{Path('real.db').resolve()}"
    password = ["--admin-password", "a-long-real-admin-password"]
    assert main(["serve"]) == 0  # the demo on 127.0.0.1
    assert main(["serve", "--host", "0.0.0.0"]) == 0
    assert main(["serve", "--no-insecure-http"]) == 0
    assert main(["serve", "--database-url", real, *password]) == 0
    assert main(["serve", "--database-url", real, "--insecure-http"]) == 0
    assert main(["serve", "--database-url", real, "--trusted-proxies", "10.0.0.1"]) == 0
    plain = [app.state.settings.insecure_http for app, _ in served]
    assert plain == [True, False, False, False, True, False]
    # uvicorn believes no forwarded header; the app does, from its trusted proxies alone.
    assert all(options["proxy_headers"] is False for _, options in served)
    assert [app.state.settings.trusted_proxies for app, _ in served][-1] == "10.0.0.1"


def test_serve_quiet_logs_warnings_alone_and_no_line_per_request(
    served: list[tuple[Any, Any]],
) -> None:
    assert main(["serve"]) == 0
    assert main(["serve", "--quiet"]) == 0
    (_, loud), (_, quiet) = served
    assert loud["log_level"] == "info" and loud.get("access_log", True) is True
    assert quiet["log_level"] == "warning" and quiet["access_log"] is False
