"""Import units, bed-spaces and referrals from CSV or XLSX, all or nothing."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile

from api.deps import Coordinator, SessionDep
from api.routers.inventory import as_of
from api.schemas import ImportedRecord, ImportResult
from api.services import imports

router = APIRouter(prefix="/api/import", tags=["import"])

MAX_BYTES = 10 * 1024 * 1024


@router.post("/{kind}", response_model=ImportResult)
async def import_file(
    request: Request,
    kind: Literal["units", "bedspaces", "referrals"],
    file: Annotated[UploadFile, File(description="a .csv or .xlsx file, header row first")],
    session: SessionDep,
    user: Coordinator,
    preview: Annotated[
        bool, Query(description="check the file and show every change, storing nothing")
    ] = False,
) -> ImportResult:
    """Every row is stored, or (422 listing every bad row and field) none is. A row for an
    existing id changes only the cells it fills in; `preview=true` answers with every change,
    field by field, and stores nothing."""
    content = await file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        from matcher.errors import Issue, ProblemInvalid

        raise ProblemInvalid([Issue(("file",), f"larger than {MAX_BYTES // 1024 // 1024} MB")])
    target = imports.IMPORTABLE[kind]
    rows = imports.parse_rows(target, imports.read_table(file.filename or "", content))
    done = imports.import_items(session, as_of(request), target, rows, user, preview=preview)
    return ImportResult(
        kind=kind,
        created=done.created,
        updated=done.updated,
        unchanged=done.unchanged,
        preview=preview,
        records=[ImportedRecord.model_validate(r.as_dict()) for r in done.records],
    )
