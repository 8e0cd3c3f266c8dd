"""Import units, bed-spaces and referrals from CSV or XLSX, all or nothing."""

from __future__ import annotations

from datetime import date
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from api.body_limit import allow_larger_body
from api.deps import Coordinator, SessionDep
from api.routers.inventory import as_of
from api.schemas import ImportedRecord, ImportResult
from api.security import Principal
from api.services import imports, spreadsheets
from matcher.errors import Issue, ProblemInvalid

router = APIRouter(prefix="/api/import", tags=["import"])

ImportKind = Literal["units", "bedspaces", "referrals"]
# The form is read by the route itself, after the caller is known (see `import_file`), so
# its body is described here rather than taken from a parameter.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "a .csv or .xlsx file, header row first",
                        }
                    },
                }
            }
        },
    }
}


@router.post("/{kind}", response_model=ImportResult, openapi_extra=UPLOAD_BODY)
async def import_file(
    request: Request,
    kind: ImportKind,
    session: SessionDep,
    user: Coordinator,
    preview: Annotated[
        bool, Query(description="check the file and show every change, storing nothing")
    ] = False,
) -> ImportResult:
    """Every row is stored, or (422 listing every bad row and field) none is. A row for an
    existing id changes only the cells it fills in; `preview=true` answers with every change,
    field by field, and stores nothing.

    The upload is read only once the caller is known to be allowed, so an anonymous one is
    refused without being read; it goes to a temporary file, not memory (up to
    `BEDMATCH_MAX_IMPORT_BYTES`); and it is parsed and stored in a worker thread, so other
    requests are answered meanwhile."""
    allow_larger_body(request, request.app.state.settings.max_import_bytes)
    form = await request.form(max_files=1, max_fields=8)
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ProblemInvalid([Issue(("body", "file"), "field required: a .csv or .xlsx file")])
        return await run_in_threadpool(
            store_upload,
            session,
            as_of(request),
            user,
            kind,
            preview,
            upload.filename or "",
            upload.file,
        )
    finally:
        await form.close()


def store_upload(
    session: Session,
    on: date,
    user: Principal,
    kind: ImportKind,
    preview: bool,
    filename: str,
    file: IO[bytes],
) -> ImportResult:
    target = imports.IMPORTABLE[kind]
    rows = imports.parse_rows(target, spreadsheets.read_table(filename, file, imports.MAX_ROWS))
    done = imports.import_items(session, on, target, rows, user, preview=preview)
    return ImportResult(
        kind=kind,
        created=done.created,
        updated=done.updated,
        unchanged=done.unchanged,
        preview=preview,
        records=[ImportedRecord.model_validate(r.as_dict()) for r in done.records],
    )
