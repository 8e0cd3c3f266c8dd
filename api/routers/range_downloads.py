"""What the figure pages over a range of days share (the returns pack, outcomes): the `from`
and `to` parameters, and the tables as a CSV or Excel attachment, with the content types the
API documents."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import Response

From = Annotated[date | None, Query(alias="from", description="first day, included")]
To = Annotated[date | None, Query(alias="to", description="last day, included")]
Extension = Literal["csv", "xlsx"]
KINDS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
DOWNLOAD: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every table of the range, in one CSV file or one sheet each in Excel",
        "content": {media_type.split(";")[0]: {} for media_type in KINDS.values()},
    }
}
PNG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/png": {}}}}


def attachment(
    body: bytes | str, extension: Extension, what: str, start: date, end: date
) -> Response:
    """The file to download: `bedmatch-{what}-{start}-{end}.{extension}`."""
    name = f"bedmatch-{what}-{start.isoformat()}-{end.isoformat()}.{extension}"
    return Response(
        body,
        media_type=KINDS[extension],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
