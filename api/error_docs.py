"""The error answers each API operation can give, written into its OpenAPI entry.

A client generated from `/openapi.json` then knows every status it must handle, and the schema
fuzzing checks that no operation answers with a status it does not document. The statuses
follow from what the operation is, not from a list kept by hand beside each route:

- 400, 413: the operation reads a body (one that is not JSON it can parse; one larger than
  the limit, `api.body_limit`);
- 401: it needs a signed-in user; 403: it lets only some roles through;
- 404: its path, or the body it writes, names something by id;
- 409: it changes stored state (or ranks someone who may no longer be waiting), which the
  state may refuse: a bed-space taken, an id already used, a referral no longer waiting;
- 429: it is the sign-in, which is throttled;
- 503: it reads the database, whose connection can be lost (the answer says to retry).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.deps import current_user
from api.security import Role


class ErrorDetail(BaseModel):
    """Every error answer: what went wrong, in a sentence."""

    detail: str


class Refusal(ErrorDetail):
    """A 409: the request was well formed, the stored state does not allow it, and why."""

    reasons: list[str] = []
    rules: list[str] = []


DESCRIPTIONS: dict[int, tuple[type[BaseModel], str]] = {
    400: (ErrorDetail, "The body could not be read as JSON"),
    401: (ErrorDetail, "Not signed in, the session has expired, or a wrong password"),
    403: (ErrorDetail, "The signed-in role may not do this"),
    404: (ErrorDetail, "No stored item has this id"),
    413: (ErrorDetail, "The request body is larger than the limit"),
    409: (Refusal, "The stored state does not allow this, with the reasons"),
    429: (ErrorDetail, "Too many failed sign-ins; see Retry-After"),
    503: (ErrorDetail, "The database connection was lost; safe to retry"),
}
SIGN_IN_PATH = "/api/auth/token"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _allowed_roles(route: APIRoute) -> frozenset[Role] | None:
    """The roles a route lets through (None when it needs no sign-in)."""
    found: frozenset[Role] | None = None
    stack = list(route.dependant.dependencies)
    while stack:
        dependency = stack.pop()
        roles = getattr(dependency.call, "allowed_roles", None)
        if roles is not None:
            found = frozenset(roles)
        if dependency.call is current_user and found is None:
            found = frozenset(Role)
        stack.extend(dependency.dependencies)
    return found


def statuses(route: APIRoute) -> set[int]:
    """The error statuses `route` can answer with (see the module's list)."""
    codes = {503}
    # A route that reads its own body (the import) describes it in `openapi_extra`.
    reads_body = route.body_field is not None or "requestBody" in (route.openapi_extra or {})
    if reads_body:
        codes |= {400, 413}
    roles = _allowed_roles(route)
    if roles is not None:
        codes.add(401)
        if roles != frozenset(Role):
            codes.add(403)
    writes = bool((route.methods or set()) & WRITES)
    if "{" in route.path or (writes and reads_body):
        codes.add(404)
    if writes or route.path.endswith("/rank"):
        codes.add(409)
    if route.path == SIGN_IN_PATH:
        codes -= {409}
        codes |= {401, 429}
    return codes


def document_errors(app: FastAPI, routes: list[tuple[str, str, Any]]) -> None:
    """Make `app.openapi()` list each operation's error answers, from `routes` (method,
    path, route) as `api.app.route_table` gives them."""
    by_operation = {
        (method.lower(), path): statuses(route)
        for method, path, route in routes
        if isinstance(route, APIRoute) and route.include_in_schema
    }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for shape in (ErrorDetail, Refusal):
            components[shape.__name__] = shape.model_json_schema()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                answers = operation.setdefault("responses", {})
                for code in sorted(by_operation.get((method, path), ())):
                    model, description = DESCRIPTIONS[code]
                    reference = {"$ref": f"#/components/schemas/{model.__name__}"}
                    answers.setdefault(
                        str(code),
                        {
                            "description": description,
                            "content": {"application/json": {"schema": reference}},
                        },
                    )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
