"""Import units, bed-spaces and referrals from CSV or XLSX, all or nothing."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Request, UploadFile

from api.deps import Coordinator, SessionDep
from api.routers.inventory import as_of
from api.schemas import ImportResult
from api.services import audit, imports

router = APIRouter(prefix="/api/import", tags=["import"])

MAX_BYTES = 10 * 1024 * 1024


@router.post("/{kind}", response_model=ImportResult)
async def import_file(
    request: Request,
    kind: Literal["units", "bedspaces", "referrals"],
    file: Annotated[UploadFile, File(description="a .csv or .xlsx file, header row first")],
    session: SessionDep,
    user: Coordinator,
) -> ImportResult:
    """Every row is stored, or (422 listing every bad row and field) none is."""
    content = await file.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES:
        from matcher.errors import Issue, ProblemInvalid

        raise ProblemInvalid([Issue(("file",), f"larger than {MAX_BYTES // 1024 // 1024} MB")])
    target = imports.IMPORTABLE[kind]
    items = imports.parse_rows(target, imports.read_table(file.filename or "", content))
    created, updated = imports.import_items(session, as_of(request), target, items)
    audit.record(session, user, "import", kind, f"{created + updated} rows")
    session.commit()
    return ImportResult(kind=kind, created=created, updated=updated)
