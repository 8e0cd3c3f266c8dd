"""Import units, bed-spaces or referrals from the CSV or XLSX sheets coordinators keep today.

All or nothing: every row is validated with the problem model, then the whole import is
checked against what is stored (unknown areas and units, duplicate ids), and only if nothing
is wrong anywhere is any of it stored. Otherwise the answer lists every bad row and field,
as `rows[N].field` with N the spreadsheet row number (the header is row 1).

Columns are the model's field names. Lists (`offers`, `flags`, `preferred_areas`, ...) are
separated by `;`; booleans are true/false, yes/no or 1/0; an empty cell takes the default.
An id that exists already updates that item.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import lock_for_write
from api.services.assemble import build_problem
from api.services.errors import Conflict
from api.services.inventory import BEDSPACES, REFERRALS, UNITS, Kind, columns, reference_issues
from constraints.checker import resident_violations
from matcher.errors import Issue, ProblemInvalid

IMPORTABLE = {"units": UNITS, "bedspaces": BEDSPACES, "referrals": REFERRALS}
MAX_ROWS = 20_000
FIRST_DATA_ROW = 2


def read_table(filename: str, content: bytes) -> list[dict[str, str]]:
    """Rows as {column: text}, from CSV (UTF-8) or XLSX (first sheet, header row first)."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(content)
    if name.endswith(".csv") or name.endswith(".txt"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ProblemInvalid([Issue(("file",), "CSV is not UTF-8 text")]) from None
        return [dict(row) for row in csv.DictReader(io.StringIO(text))]
    raise ProblemInvalid([Issue(("file",), "expected a .csv or .xlsx file")])


def _read_xlsx(content: bytes) -> list[dict[str, str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a file that is not a workbook
        raise ProblemInvalid([Issue(("file",), "not a readable .xlsx workbook")]) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return []
    names = [str(h).strip() if h is not None else "" for h in header]
    table = []
    for values in rows:
        cells = {}
        for name, value in zip(names, values, strict=False):
            if not name:
                continue
            if isinstance(value, date):
                value = value.isoformat()[:10]
            cells[name] = "" if value is None else str(value)
        table.append(cells)
    book.close()
    return table


def _list_fields(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, info in model.model_fields.items()
        if getattr(info.annotation, "__origin__", None) is list
    }


_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


def _cell(value: str, is_list: bool) -> Any:
    text = value.strip()
    if is_list:
        return [part.strip() for part in text.split(";") if part.strip()]
    if text.lower() in _TRUE:
        return True if text.lower() not in {"1"} else text
    if text.lower() in _FALSE:
        return False if text.lower() not in {"0"} else text
    return text


def parse_rows(kind: Kind, table: list[dict[str, str]]) -> list[BaseModel]:
    """Every row validated with the model, or `ProblemInvalid` listing every bad field."""
    if len(table) > MAX_ROWS:
        raise ProblemInvalid([Issue(("file",), f"more than {MAX_ROWS} rows")])
    if not table:
        raise ProblemInvalid([Issue(("file",), "no rows under the header")])
    known = set(kind.model.model_fields)
    unknown = sorted(set(table[0]) - known)
    issues = [Issue(("file", "columns"), f"unknown column {c!r}") for c in unknown if c]
    lists = _list_fields(kind.model)
    items: list[BaseModel] = []
    first_row: dict[str, int] = {}
    for offset, row in enumerate(table):
        number = offset + FIRST_DATA_ROW
        data = {k: _cell(v or "", k in lists) for k, v in row.items() if k in known}
        data = {k: v for k, v in data.items() if v != ""}
        row_id = str(data.get("id", ""))
        if row_id and row_id in first_row:
            issues.append(
                Issue(("rows", number, "id"), f"id {row_id!r} is also on row {first_row[row_id]}")
            )
        first_row.setdefault(row_id, number)
        try:
            items.append(kind.model.model_validate(data))
        except ValidationError as error:
            for detail in error.errors(include_url=False):
                msg = "field required" if detail["type"] == "missing" else detail["msg"]
                issues.append(
                    Issue(("rows", number, *detail["loc"]), msg.removeprefix("Value error, "))
                )
    if issues:
        raise ProblemInvalid(issues)
    return items


def import_items(
    session: Session, as_of: date, kind: Kind, items: list[BaseModel]
) -> tuple[int, int]:
    """Store every item (insert or update by id) in one transaction; (created, updated)."""
    lock_for_write(session)
    try:
        issues = [
            issue
            for offset, item in enumerate(items)
            for issue in reference_issues(session, kind, item, ("rows", offset + FIRST_DATA_ROW))
        ]
        if issues:
            raise ProblemInvalid(issues)
        before = (
            {(v.rule, v.message) for v in resident_violations(build_problem(session, as_of))}
            if kind.shapes_placements
            else set()
        )
        created = updated = 0
        row_of: dict[str, int] = {}
        for offset, item in enumerate(items):
            values = columns(item)
            row_of[values["id"]] = offset + FIRST_DATA_ROW
            existing: Any = session.get(kind.row, values["id"])
            if existing is None:
                session.add(kind.row(**values))
                created += 1
            else:
                if kind is REFERRALS and existing.status != "waiting":
                    raise Conflict(
                        f"row {row_of[values['id']]}: referral {values['id']!r} is "
                        f"{existing.status} and can no longer be changed"
                    )
                for name, value in values.items():
                    setattr(existing, name, value)
                updated += 1
        try:
            session.flush()
        except IntegrityError:
            raise Conflict("the import conflicts with stored records") from None
        try:
            problem = build_problem(session, as_of)
        except ProblemInvalid as error:
            raise ProblemInvalid(_by_row(session, kind, error.issues, row_of)) from None
        if kind.shapes_placements:
            new = [
                v.message for v in resident_violations(problem) if (v.rule, v.message) not in before
            ]
            if new:
                raise Conflict("the import would break hard rules for people placed", new)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return created, updated


def _by_row(
    session: Session, kind: Kind, issues: list[Issue], row_of: dict[str, int]
) -> list[Issue]:
    from api.services.inventory import _collection_ids

    ids = _collection_ids(session, kind)
    mapped = []
    for issue in issues:
        loc = issue.loc
        if len(loc) >= 2 and loc[0] == kind.collection and isinstance(loc[1], int):
            item_id = ids[loc[1]] if loc[1] < len(ids) else None
            if item_id in row_of:
                mapped.append(Issue(("rows", row_of[item_id], *loc[2:]), issue.msg))
                continue
        mapped.append(issue)
    return mapped
