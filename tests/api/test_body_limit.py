"""Request bodies are bounded (`api.body_limit`): a declared length over the limit is refused
before the body is read, a body sent without one is counted, and only the import takes more.
An anonymous upload is refused for who sent it, without reading it."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from api.routers import imports as import_route
from api.security import Role
from tests.api.conftest import Service, settings_for, start_service
from tests.reliability.live import LiveService, live_service

LIMIT = 64 * 1024
IMPORT_LIMIT = 4 * 1024 * 1024
REFERRAL = {"id": "RB1", "referred": "2026-11-01", "age": 30, "gender": "man", "risk": "low"}
HEADER = "id,unit,cluster,accessible,available_from\n"


@pytest.fixture
def service(sqlite_url: str) -> Iterator[Service]:
    yield from start_service(sqlite_url, max_body_bytes=LIMIT, max_import_bytes=IMPORT_LIMIT)


@pytest.fixture
def live(sqlite_url: str) -> Iterator[LiveService]:
    settings = settings_for(sqlite_url, max_body_bytes=LIMIT, max_import_bytes=IMPORT_LIMIT)
    with live_service(settings) as running:
        yield running


def too_large(response: Any) -> None:
    assert response.status_code == 413, response.text
    assert "larger than the limit" in response.json()["detail"]


def test_a_body_declared_over_the_limit_is_a_413(service: Service) -> None:
    padding = "x" * LIMIT
    response = service.client.post(
        "/api/referrals",
        json={**REFERRAL, "strengths": [padding]},
        headers=service.as_role(Role.coordinator),
    )
    too_large(response)


def test_a_chunked_body_over_the_limit_is_counted_and_refused(service: Service) -> None:
    body = json.dumps({**REFERRAL, "strengths": ["x" * LIMIT]}).encode()

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    response = service.client.post(
        "/api/referrals",
        content=chunks(),
        headers={**service.as_role(Role.coordinator), "Content-Type": "application/json"},
    )
    too_large(response)


def test_a_body_within_the_limit_is_read(service: Service) -> None:
    response = service.client.post(
        "/api/referrals", json=REFERRAL, headers=service.as_role(Role.coordinator)
    )
    assert response.status_code == 201, response.text


def test_only_the_import_takes_more_and_keeps_it_in_a_temporary_file(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept: list[Any] = []
    store = import_route.store_upload

    def spy(*args: Any) -> Any:
        kept.append(args[-1])
        return store(*args)

    monkeypatch.setattr(import_route, "store_upload", spy)
    rows = "".join(f"NB{n},U0001,C9,no,\n" for n in range(2000))
    csv = (HEADER + rows).encode() + b"\n" * (2 * 1024 * 1024)  # blank lines: no rows
    assert LIMIT < len(csv) < IMPORT_LIMIT
    response = service.client.post(
        "/api/import/bedspaces",
        files={"file": ("beds.csv", csv)},
        headers=service.as_role(Role.coordinator),
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2000
    # Starlette spools an upload past 1 MB to disk.
    assert getattr(kept[0], "_rolled", None) is True

    response = service.client.post(
        "/api/import/bedspaces",
        files={"file": ("beds.csv", csv + b"\n" * IMPORT_LIMIT)},
        headers=service.as_role(Role.coordinator),
    )
    too_large(response)


def send_head(live: LiveService, path: str, headers: dict[str, str], body: bytes) -> socket.socket:
    """Send a request's head and the start of its body, as a client still uploading would."""
    host, port = live.base_url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return connection


def read_answer(connection: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and what came of the body, without sending anything more."""
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        assert chunk, f"closed before answering: {received!r}"
        received += chunk
    head, _, rest = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        rest += chunk
    return int(status_line.split()[1]), headers, rest


HUNDRED_MB = 100 * 1024 * 1024


def test_an_anonymous_100_mb_upload_is_refused_401_without_reading_it(live: LiveService) -> None:
    # The client has sent 1 KB of a declared 100 MB and waits: the answer comes all the same,
    # so nothing waited for the body, and the connection is closed rather than drained.
    boundary = "b0undary"
    start = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="u.csv"\r\n\r\n'
    connection = send_head(
        live,
        "/api/import/units",
        {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(HUNDRED_MB),
        },
        start.encode() + b"x" * 1024,
    )
    with connection:
        status, headers, _ = read_answer(connection)
    assert status == 401
    assert headers.get("connection") == "close"


def test_a_declared_100_mb_body_is_refused_before_it_is_sent(live: LiveService) -> None:
    connection = send_head(
        live,
        "/api/referrals",
        {
            **live.headers[Role.coordinator],
            "Content-Type": "application/json",
            "Content-Length": str(HUNDRED_MB),
        },
        b'{"id": "R',
    )
    with connection:
        status, headers, body = read_answer(connection)
    assert status == 413
    assert headers.get("connection") == "close"
    assert "larger than the limit" in json.loads(body)["detail"]


def test_a_signed_in_import_declared_over_its_limit_is_refused_before_it_is_sent(
    live: LiveService,
) -> None:
    connection = send_head(
        live,
        "/api/import/units",
        {
            **live.headers[Role.coordinator],
            "Content-Type": "multipart/form-data; boundary=b0undary",
            "Content-Length": str(HUNDRED_MB),
        },
        b"--b0undary\r\n",
    )
    with connection:
        status, _, body = read_answer(connection)
    assert status == 413
    assert "larger than the limit" in json.loads(body)["detail"]


def test_a_chunked_upload_is_refused_once_past_the_limit_without_waiting_for_its_end(
    live: LiveService,
) -> None:
    chunk = b'"' + b"x" * (16 * 1024) + b'",'
    piece = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    connection = send_head(
        live,
        "/api/referrals",
        {
            **live.headers[Role.coordinator],
            "Content-Type": "application/json",
            "Transfer-Encoding": "chunked",
        },
        piece * (LIMIT // len(chunk) + 2),  # past the limit, and never finished
    )
    with connection:
        status, _, body = read_answer(connection)
    assert status == 413
    assert "larger than the limit" in json.loads(body)["detail"]
