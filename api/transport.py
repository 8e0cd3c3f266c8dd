"""HTTPS and proxies: what the service believes about the connection, and what it asks of
the browser.

Unless started for plain-HTTP local use (`BEDMATCH_INSECURE_HTTP`, `bedmatch serve
--insecure-http`; the default only for the demo on a loopback address), the sign-in cookie is
`Secure` and every answer carries `Strict-Transport-Security`, so a browser that has once
reached the service over HTTPS never again sends the cookie, or anything, in clear.

`X-Forwarded-For` and `X-Forwarded-Proto` are believed only from `BEDMATCH_TRUSTED_PROXIES`
(comma-separated addresses or networks, as uvicorn's `--forwarded-allow-ips`; none by default):
behind a TLS-terminating proxy they give the client's address (for sign-in throttling and
the audit trail) and the scheme. `bedmatch serve` turns uvicorn's own reading of them off
(it trusts 127.0.0.1 by default), so this is the only place that reads them.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.config import Settings

# A year, the usual figure for a site served only over HTTPS. No `includeSubDomains`: other
# services of the same council may live under the domain, and are not ours to commit.
HSTS = "max-age=31536000"


class StrictTransport:
    """`Strict-Transport-Security` on every HTTP answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_header)


def trusted_proxies(settings: Settings) -> list[str]:
    return [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]


def install_transport_security(app: FastAPI, settings: Settings) -> None:
    """HSTS unless plain HTTP was asked for; forwarded headers from trusted proxies only.
    Installed last, so the proxy headers are read before anything else sees the request."""
    if not settings.insecure_http:
        app.add_middleware(StrictTransport)
    proxies = trusted_proxies(settings)
    if proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
