"""Import units, bed-spaces or referrals from the CSV or XLSX sheets coordinators keep today.

All or nothing: every row is validated with the problem model, then the whole import is
checked against what is stored (unknown areas and units, duplicate ids), and only if nothing
is wrong anywhere is any of it stored. Otherwise the answer lists every bad row and field,
as `rows[N].field` with N the spreadsheet row number (the header is row 1).

Columns are the model's field names. Lists (`offers`, `flags`, `preferred_areas`, ...) are
separated by `;`; booleans are true/false, yes/no or 1/0; dates are ISO (2026-12-07) or
day first as councils write them (07/12/2026), with a time after either if known.

A row whose id is new creates the item: an empty cell (or a column left out) takes the
model's default, except where there is no safe default (a referral's `risk`). A row whose id
exists changes only the cells it fills in: an empty cell or a missing column keeps what is
stored, so a sheet of a few columns never resets the rest. A cell holding a single `-`
empties a list or an optional field on purpose. Every change is audited field by field, and
each weakening of a safety field on its own (`api.services.changes`); a preview reports the
same changes and stores nothing.
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import lock_for_write
from api.security import Principal
from api.services import audit, by_name_list, changes
from api.services.assemble import build_problem
from api.services.changes import RecordChange
from api.services.errors import Conflict
from api.services.inventory import (
    BEDSPACES,
    REFERRALS,
    UNITS,
    Kind,
    columns,
    record_change,
    reference_issues,
)
from api.services.list_status import ListEvent
from constraints.checker import resident_violations
from matcher.errors import Issue, ProblemInvalid
from matcher.model import Referral

IMPORTABLE = {"units": UNITS, "bedspaces": BEDSPACES, "referrals": REFERRALS}
MAX_ROWS = 20_000
FIRST_DATA_ROW = 2
# A cell holding only this empties a list or an optional field; an empty cell changes nothing.
CLEAR = "-"


@dataclass(frozen=True)
class ImportRow:
    """One spreadsheet row: its number (the header is row 1), its id and the cells it fills
    in, as the model's values."""

    number: int
    id: str
    given: dict[str, Any]


@dataclass(frozen=True)
class Imported:
    """What an import did (or, previewed, would do), record by record."""

    records: list[RecordChange] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(1 for r in self.records if r.created)

    @property
    def updated(self) -> int:
        return sum(1 for r in self.records if not r.created and r.fields)

    @property
    def unchanged(self) -> int:
        return sum(1 for r in self.records if not r.created and not r.fields)


def _list_fields(model: type[BaseModel]) -> set[str]:
    return {
        name
        for name, info in model.model_fields.items()
        if getattr(info.annotation, "__origin__", None) is list
    }


def _empty_values(model: type[BaseModel]) -> dict[str, Any]:
    """What `-` sets each field to that may be empty: a list to [], an optional field to
    null, a text whose default is empty to ""."""
    empty: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if getattr(info.annotation, "__origin__", None) is list:
            empty[name] = []
        elif not info.is_required() and info.default in (None, ""):
            empty[name] = info.default
    return empty


def _date_fields(model: type[BaseModel]) -> set[str]:
    def is_date(annotation: Any) -> bool:
        if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
            return any(is_date(a) for a in typing.get_args(annotation))
        return annotation in (date, datetime)

    return {name for name, info in model.model_fields.items() if is_date(info.annotation)}


# Day first, as UK councils write dates: 7/12/2026, 07.12.2026, 07-12-2026, with a time
# (14:30 or 14:30:05) after it if known.
_DAY_FIRST = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
)
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
DATE_HELP = "a date as DD/MM/YYYY or YYYY-MM-DD (a time after it, HH:MM, if known)"


def iso_date_text(text: str) -> str | None:
    """The cell as an ISO date (or date and time), read day first unless it is ISO already;
    None if it is neither or names no real day."""
    if _ISO.match(text):
        return text
    found = _DAY_FIRST.match(text)
    if found is None:
        return None
    day, month, year, hour, minute, second = found.groups()
    try:
        when = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
    except ValueError:
        return None
    return when.date().isoformat() if hour is None else when.isoformat()


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


def parse_rows(kind: Kind, table: list[dict[str, str]]) -> list[ImportRow]:
    """Every row's filled-in cells, each checked against its field's type and bounds, or
    `ProblemInvalid` listing every bad column, id and cell. Rules across fields (an age band,
    a refuge's policy) are checked once each row is merged with what is stored
    (`import_items`)."""
    if len(table) > MAX_ROWS:
        raise ProblemInvalid([Issue(("file",), f"more than {MAX_ROWS} rows")])
    if not table:
        raise ProblemInvalid([Issue(("file",), "no rows under the header")])
    known = set(kind.model.model_fields)
    unknown = sorted(set(table[0]) - known)
    issues = [Issue(("file", "columns"), f"unknown column {c!r}") for c in unknown if c]
    if "id" not in table[0]:
        issues.append(Issue(("file", "columns"), "no 'id' column"))
    lists = _list_fields(kind.model)
    dates = _date_fields(kind.model)
    empty = _empty_values(kind.model)
    cells_model = changes.partial(kind.model)
    rows: list[ImportRow] = []
    first_row: dict[str, int] = {}
    for offset, row in enumerate(table):
        number = offset + FIRST_DATA_ROW
        data: dict[str, Any] = {}
        for name, value in row.items():
            text = (value or "").strip()
            if name not in known or not text:
                continue
            if text == CLEAR:
                if name in empty:
                    data[name] = empty[name]
                else:
                    issues.append(
                        Issue(
                            ("rows", number, name),
                            f"{CLEAR!r} empties only a list or an "
                            "optional field; this field must have a value",
                        )
                    )
                continue
            if name in dates:
                iso = iso_date_text(text)
                if iso is None:
                    issues.append(Issue(("rows", number, name), f"{text!r} is not {DATE_HELP}"))
                    continue
                data[name] = iso
                continue
            data[name] = _cell(text, name in lists)
        row_id = str(data.get("id") or "")
        if not row_id:
            issues.append(Issue(("rows", number, "id"), "field required"))
            continue
        if row_id in first_row:
            issues.append(
                Issue(("rows", number, "id"), f"id {row_id!r} is also on row {first_row[row_id]}")
            )
        first_row.setdefault(row_id, number)
        try:
            cells = cells_model.model_validate(data)
        except ValidationError as error:
            issues.extend(ProblemInvalid.from_validation_error(error, ("rows", number)).issues)
            continue
        rows.append(ImportRow(number, row_id, cells.model_dump(exclude_unset=True)))
    if issues:
        raise ProblemInvalid(issues)
    return rows


def import_items(
    session: Session,
    as_of: date,
    kind: Kind,
    rows: list[ImportRow],
    user: Principal,
    preview: bool = False,
) -> Imported:
    """Store every row (create, or change the cells given, by id) in one transaction, with
    its audit events; all or nothing. A preview checks everything the same way, then stores
    nothing."""
    lock_for_write(session)
    try:
        items, records = _merged(session, kind, rows)
        issues = [
            issue
            for row, item in zip(rows, items, strict=True)
            for issue in reference_issues(session, kind, item, ("rows", row.number))
        ]
        if issues:
            raise ProblemInvalid(issues)
        before = (
            {(v.rule, v.message) for v in resident_violations(build_problem(session, as_of))}
            if kind.shapes_placements
            else set()
        )
        row_of = {row.id: row.number for row in rows}
        for item, record in zip(items, records, strict=True):
            values = columns(item)
            if record.created:
                session.add(kind.row(**values))
                if isinstance(item, Referral):
                    by_name_list.follow(
                        session, user, item.case_reference, ListEvent.new_referral, item.referred
                    )
            else:
                existing: Any = session.get(kind.row, record.id)
                for name, value in values.items():
                    setattr(existing, name, value)
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
        imported = Imported(records)
        if preview:
            session.rollback()
            return imported
        for record in records:
            record_change(session, user, kind, record)
        audit.record(
            session,
            user,
            "import",
            kind.subject,
            f"{kind.collection}:{len(rows)}",
            f"created {imported.created}, updated {imported.updated}, "
            f"unchanged {imported.unchanged}",
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return imported


def _merged(
    session: Session, kind: Kind, rows: list[ImportRow]
) -> tuple[list[BaseModel], list[RecordChange]]:
    """Each row as a whole record (a new one from its cells and the defaults, a stored one
    with its cells changed) and its change; `ProblemInvalid` with every row's issues."""
    issues: list[Issue] = []
    items: list[BaseModel] = []
    records: list[RecordChange] = []
    required = changes.required_on_create(kind.collection)
    for row in rows:
        loc: tuple[str | int, ...] = ("rows", row.number)
        existing: Any = session.get(kind.row, row.id)
        try:
            if existing is None:
                missing = sorted(required - set(row.given))
                if missing:
                    raise ProblemInvalid(
                        [
                            Issue((*loc, n), "field required: it has no safe default")
                            for n in missing
                        ]
                    )
                item = changes.merge(kind.model, {}, row.given, loc)
                records.append(changes.created(kind.collection, item))
            else:
                if kind is REFERRALS and existing.status != "waiting":
                    raise Conflict(
                        f"row {row.number}: referral {row.id!r} is "
                        f"{existing.status} and can no longer be changed"
                    )
                stored = changes.stored_values(kind.model, existing)
                item = changes.merge(kind.model, stored, row.given, loc)
                records.append(changes.diff(kind.collection, row.id, stored, item))
            items.append(item)
        except ProblemInvalid as error:
            issues.extend(error.issues)
    if issues:
        raise ProblemInvalid(issues)
    return items, records


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
