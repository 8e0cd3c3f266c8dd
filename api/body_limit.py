"""A limit on the size of a request body, as a plain ASGI middleware.

Every request may send at most `max_bytes` (`BEDMATCH_MAX_BODY_BYTES`). A body declared
larger by its `Content-Length` is refused at the first attempt to read it, before a byte is
taken; one sent without a length (chunked) is counted as it arrives and refused the moment
it passes the limit. Either way the answer is 413 with a JSON `detail`, and the connection is
closed after it, so the server does not go on reading the rest.

The limit bites when the body is read, not when the request arrives: a route that reads its
body only after checking who is asking (the import, which alone may take more, with
`allow_larger_body`) answers an anonymous upload 401 without reading it at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCOPE_KEY = "bedmatch.body_limit"


class BodyTooLarge(HTTPException):
    """An HTTP error, so FastAPI's body reading passes it on as it is (413, not 400)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than the limit of {limit:,} bytes")


@dataclass
class BodyAllowance:
    """One request's limit and what has come of its body so far."""

    limit: int
    declared: int | None
    received: int = 0
    refused: bool = False

    def over(self) -> bool:
        return self.refused or (self.declared is not None and self.declared > self.limit)


def allow_larger_body(request: Request, limit: int) -> None:
    """Let this request's body be up to `limit` bytes (call before reading it)."""
    allowance: BodyAllowance | None = request.scope.get(SCOPE_KEY)
    if allowance is not None:
        allowance.limit = max(allowance.limit, limit)


def _declared_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # uvicorn refuses a malformed length before the app sees the request


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        allowance = BodyAllowance(self.max_bytes, _declared_length(scope))
        scope[SCOPE_KEY] = allowance
        started = False

        async def receive_within_limit() -> Message:
            if allowance.over():
                allowance.refused = True
                raise BodyTooLarge(allowance.limit)
            message = await receive()
            if message["type"] == "http.request":
                allowance.received += len(message.get("body", b""))
                if allowance.received > allowance.limit:
                    allowance.refused = True
                    raise BodyTooLarge(allowance.limit)
            return message

        async def send_closing_if_over(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if allowance.over():
                    # The rest of the body was never read: close rather than read it to
                    # keep the connection.
                    MutableHeaders(scope=message)["connection"] = "close"
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_closing_if_over)
        except BodyTooLarge as error:
            # Read outside a route's error handling (none does today): answer here.
            if started:
                raise
            response = JSONResponse(
                {"detail": error.detail}, error.status_code, headers={"Connection": "close"}
            )
            await response(scope, receive, send)
