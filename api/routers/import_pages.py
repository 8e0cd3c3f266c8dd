"""The import page: download a template, upload a sheet, read every change it would make
(field by field, safety fields it weakens marked), then import it or cancel.

The same checks and the same all-or-nothing import as `POST /api/import/{kind}`; the file
waits on disk between the preview and the decision (`api.services.kept_uploads`).
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.body_limit import allow_larger_body
from api.deps import Coordinator, SessionDep
from api.routers.imports import ImportKind, store_upload
from api.routers.inventory import as_of
from api.routers.pages import CsrfField, render, require_csrf
from api.schemas import ImportResult
from api.security import Principal
from api.services import import_template
from api.services.errors import Conflict
from api.services.kept_uploads import KeptUploads
from matcher.errors import Issue, ProblemInvalid

router = APIRouter(include_in_schema=False)

KINDS: dict[str, str] = {"units": "Units", "bedspaces": "Bed-spaces", "referrals": "Referrals"}
TEMPLATE_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _kept(request: Request) -> KeptUploads:
    store: KeptUploads = request.app.state.kept_uploads
    return store


def _page(
    request: Request,
    user: Principal,
    kind: str = "referrals",
    code: int = 200,
    message: str | None = None,
    kind_of_message: str = "ok",
    problems: list[Issue] | None = None,
    result: ImportResult | None = None,
    token: str | None = None,
    filename: str = "",
) -> Response:
    return render(
        request,
        "import.html",
        user,
        code=code,
        kinds=KINDS,
        kind=kind,
        columns={k: import_template.columns(k) for k in KINDS},
        message=message,
        message_kind=kind_of_message,
        problems=problems or [],
        result=result,
        token=token,
        filename=filename,
        where=_where,
        shown=_shown,
    )


def _where(issue: Issue) -> str:
    """Where a problem is, as the sheet's reader finds it: "Row 5, age", "Columns"."""
    loc = issue.loc
    if len(loc) >= 2 and loc[0] == "rows":
        rest = ".".join(str(part) for part in loc[2:])
        return f"Row {loc[1]}, {rest}" if rest else f"Row {loc[1]}"
    if loc[:2] == ("file", "columns"):
        return "Columns"
    return "The file" if loc else ""


def _shown(value: object) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


@router.get("/import", response_class=HTMLResponse)
def import_page(
    request: Request,
    user: Coordinator,
    kind: ImportKind = "referrals",
    file: Annotated[str, Query(max_length=200)] = "",
    created: Annotated[int | None, Query(ge=0, le=10**6)] = None,
    changed: Annotated[int, Query(ge=0, le=10**6)] = 0,
    unchanged: Annotated[int, Query(ge=0, le=10**6)] = 0,
    cancelled: bool = False,
) -> Response:
    message = None
    if cancelled:
        message = "Nothing was imported."
    elif created is not None:
        message = (
            f"Imported {file}: {_count(created, 'record')} created, {changed} changed, "
            f"{unchanged} unchanged."
        )
    return _page(request, user, kind, message=message)


@router.get("/import/template/{kind}.{extension}")
def import_template_file(
    kind: ImportKind, extension: Literal["csv", "xlsx"], user: Coordinator
) -> Response:
    """A sheet with every column and one made-up example row (the XLSX also a sheet of notes)."""
    body = (
        import_template.template_csv(kind)
        if extension == "csv"
        else import_template.template_xlsx(kind)
    )
    return Response(
        body,
        media_type=TEMPLATE_TYPES[extension],
        headers={"Content-Disposition": f'attachment; filename="bedmatch-{kind}.{extension}"'},
    )


@router.post("/import", response_class=HTMLResponse)
async def check_import(request: Request, session: SessionDep, user: Coordinator) -> Response:
    """Check the sheet and show what importing it would change; store nothing yet."""
    allow_larger_body(request, request.app.state.settings.max_import_bytes)
    form = await request.form(max_files=1, max_fields=8)
    try:
        require_csrf(request, str(form.get("csrf_token") or ""))
        kind = str(form.get("kind") or "")
        if kind not in KINDS:
            return _page(
                request,
                user,
                code=422,
                message="Choose what the sheet holds: units, bed-spaces or referrals.",
                kind_of_message="error",
            )
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _page(
                request,
                user,
                kind,
                code=422,
                message="Choose a .csv or .xlsx file to check.",
                kind_of_message="error",
            )
        filename = upload.filename
        try:
            result = await run_in_threadpool(
                store_upload,
                session,
                as_of(request),
                user,
                kind,  # type: ignore[arg-type]
                True,
                filename,
                upload.file,
            )
        except Conflict as refused:
            return _page(
                request,
                user,
                kind,
                code=status.HTTP_409_CONFLICT,
                message=f"Nothing was imported: {refused.message}.",
                kind_of_message="error",
                problems=[Issue((), reason) for reason in refused.reasons],
                filename=filename,
            )
        except ProblemInvalid as invalid:
            return _page(
                request,
                user,
                kind,
                code=422,
                message=f"Nothing was imported: {filename} has "
                f"{_count(len(invalid.issues), 'problem')}. Put "
                f"{'it' if len(invalid.issues) == 1 else 'them'} right and check it again.",
                kind_of_message="error",
                problems=invalid.issues,
                filename=filename,
            )
        kept = await run_in_threadpool(
            _kept(request).keep, user.username, kind, filename, upload.file
        )
    finally:
        await form.close()
    return _page(request, user, kind, result=result, token=kept.token, filename=filename)


@router.post("/import/confirm")
def confirm_import(
    request: Request,
    session: SessionDep,
    user: Coordinator,
    token: Annotated[str, Form(max_length=64)] = "",
    decision: Annotated[str, Form(max_length=16)] = "import",
    csrf_token: CsrfField = "",
) -> Response:
    """Import the sheet checked a moment ago (or drop it): all of it, or none."""
    require_csrf(request, csrf_token)
    store = _kept(request)
    kept = store.take(token, user.username)
    if kept is None:
        return _page(
            request,
            user,
            code=status.HTTP_409_CONFLICT,
            message="That check has expired or was already used: upload the sheet again.",
            kind_of_message="error",
        )
    try:
        if decision != "import":
            return RedirectResponse(
                "/import?" + urlencode({"kind": kept.kind, "cancelled": "true"}),
                status.HTTP_303_SEE_OTHER,
            )
        with kept.path.open("rb") as file:
            try:
                result = store_upload(
                    session,
                    as_of(request),
                    user,
                    kept.kind,  # type: ignore[arg-type]
                    False,
                    kept.filename,
                    file,
                )
            except Conflict as refused:
                return _page(
                    request,
                    user,
                    kept.kind,
                    code=status.HTTP_409_CONFLICT,
                    message=f"Nothing was imported: {refused.message}.",
                    kind_of_message="error",
                    problems=[Issue((), reason) for reason in refused.reasons],
                    filename=kept.filename,
                )
            except ProblemInvalid as invalid:
                # The stored data changed since the check (someone else imported or edited).
                return _page(
                    request,
                    user,
                    kept.kind,
                    code=422,
                    message="Nothing was imported: the data changed since the check, and "
                    f"{kept.filename} now has {_count(len(invalid.issues), 'problem')}.",
                    kind_of_message="error",
                    problems=invalid.issues,
                    filename=kept.filename,
                )
    finally:
        store.discard(kept)
    said = {
        "kind": kept.kind,
        "file": kept.filename[:200],
        "created": result.created,
        "changed": result.updated,
        "unchanged": result.unchanged,
    }
    return RedirectResponse("/import?" + urlencode(said), status.HTTP_303_SEE_OTHER)


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"
