"""Spreadsheet exports (CSV and XLSX) of what a role may already see on screen.

An export is made from the very answer the API gives the same role (the vacancy board with
refuges hidden, the move-outs), so it can never show more than that role's screen does.

A cell a spreadsheet would read as a formula (starting `=`, `+`, `-`, `@`, a tab or a carriage
return) is written with a leading apostrophe: unit names and addresses come from imported
files, and a formula in one would run on the officer's machine when the export is opened
(OWASP "CSV injection").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from enum import Enum, StrEnum
from typing import Any


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str | int | float | None:
    """One cell's value: enums by their value, dates as ISO text, text made formula-safe."""
    if value is None or isinstance(value, bool):
        return None if value is None else ("yes" if value else "no")
    if isinstance(value, int | float):
        return value
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def table(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: ExportFormat, sheet: str
) -> bytes:
    """`rows` as a spreadsheet with a header row of `columns`, in `fmt`."""
    cells = [[cell(row.get(column)) for column in columns] for row in rows]
    if fmt is ExportFormat.csv:
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(columns)
        writer.writerows(["" if c is None else c for c in line] for line in cells)
        return text.getvalue().encode("utf-8")
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    worksheet = book.create_sheet(sheet)
    worksheet.append(list(columns))
    for line in cells:
        worksheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def filename(stem: str, as_of: date, fmt: ExportFormat) -> str:
    return f"{stem}-{as_of.isoformat()}.{fmt.value}"
