"""A real uvicorn server for the app, on 127.0.0.1 and a free port, in a thread.

The fuzzing and fault tests talk to the service over TCP, as a client would, so requests go
through uvicorn's HTTP parsing, the middleware and the error handlers exactly as deployed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from api.app import create_app
from api.config import Settings
from api.security import Principal, Role, create_token
from tests.api.conftest import ROLE_LOGIN, free_port


@dataclass(frozen=True)
class LiveService:
    base_url: str
    settings: Settings
    headers: dict[Role, dict[str, str]]
    app: object


def role_headers(settings: Settings) -> dict[Role, dict[str, str]]:
    """A signed bearer token per demo role (argon2 sign-in is tested on its own)."""
    return {
        role: {"Authorization": f"Bearer {create_token(settings, Principal(name, role))}"}
        for role, (name, _) in ROLE_LOGIN.items()
    }


@contextmanager
def live_service(settings: Settings, start_timeout_s: float = 60.0) -> Iterator[LiveService]:
    """Serve `create_app(settings)` until the block ends; the server is always stopped."""
    app = create_app(settings)
    port = free_port()
    # No logging config of uvicorn's own: its records go to the root logger, where a test
    # can read them (caplog), as they would go to a deployment's log collector.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        log_config=None,
        proxy_headers=False,  # as `bedmatch serve` runs it: the app reads forwarded headers
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield LiveService(f"http://127.0.0.1:{port}", settings, role_headers(settings), app)
    finally:
        server.should_exit = True
        thread.join(30)
