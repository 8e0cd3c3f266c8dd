"""The import templates: every column a units, bed-spaces or referrals sheet may have, what it
means, what it takes and whether a new row must fill it in, as a page table, a CSV with the
header row and one example row, and an XLSX with the same sheet and a sheet of notes.

The columns are the problem model's fields (DESIGN.md); the notes say each in plain words.
"""

from __future__ import annotations

import csv
import enum
import io
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from api.services.changes import REQUIRED_ON_CREATE
from api.services.imports import CLEAR, IMPORTABLE

# What each column means, in the words of the people who fill the sheet in.
NOTES: dict[str, dict[str, str]] = {
    "units": {
        "id": "The unit's code, unique across the service (letters, digits, - _ .).",
        "name": "The name people know the project by.",
        "area": "The code of the area it is in (an area already stored).",
        "kind": "What sort of service it is.",
        "gender_policy": "Who may live there; a refuge or women-only unit must be women_only.",
        "self_contained": "Yes if every bed-space has its own front door, kitchen and bathroom.",
        "min_age": "Youngest age it takes.",
        "max_age": "Oldest age it takes.",
        "under_18_approved": "Yes if it is approved to house 16-17 year olds.",
        "staffing": "When staff are on site; 24_7 for round-the-clock cover.",
        "mappa_approved": "Yes if it may take people managed under MAPPA.",
        "max_risk": "The highest risk level it may take.",
        "max_high_risk_residents": "How many high or very-high risk people it may hold at once.",
        "support_hours_capacity": "Weekly support hours its staff can give, in all.",
        "offers": "What it offers (activities, specialisms), separated by ;.",
        "pathway": "The pathway its stays belong to.",
        "confidential_address": "Yes if its address must never be shown (refuges).",
        "address": "Its address; shown only to those who may see it.",
    },
    "bedspaces": {
        "id": "The bed-space's code, unique across the service.",
        "unit": "The code of its unit (a unit already stored, or one in the same import).",
        "cluster": "Bed-spaces sharing a kitchen or bathroom share a cluster name.",
        "accessible": "Yes if it is wheelchair accessible.",
        "available_from": "The first date it can be let, if not yet (empty: now).",
    },
    "referrals": {
        "id": "The referral's code, unique across the service.",
        "referred": "When the referral was made: the date, with the time if known (a date "
        "alone reads as midnight).",
        "age": "The person's age in years.",
        "gender": "The person's gender.",
        "needs_women_only": "Yes if she needs a women-only space.",
        "wants_female_worker": "Yes if the person asks for a female support worker.",
        "household_size": "How many people move in together, the person included.",
        "risk": "Assessed risk level: needed for every new referral, never assumed.",
        "flags": "Safety flags that apply, separated by ;.",
        "support_hours": "Weekly support hours the person needs.",
        "needs_24_7": "Yes if the person needs staff on site round the clock.",
        "needs_accessible": "Yes if the person needs a wheelchair-accessible bed-space.",
        "pathway": "The pathway the person is referred to.",
        "preferred_areas": "Codes of areas the person would like, separated by ;.",
        "excluded_areas": "Codes of areas the person must never be placed in, separated by ;.",
        "strengths": "The person's strengths and interests, separated by ;.",
        "keep_apart": "Codes of people they must never live with, separated by ;.",
        "keep_together": "Codes of referrals who move in with them, separated by ;.",
        "priority": "Priority band, 1 (lowest) to 5 (most urgent).",
        "name": "The name the person wants used (coordinators and admins see it).",
        "case_reference": "The council's case reference (coordinators and admins see it).",
        "referred_at": "Filled in from a referred cell with a time; leave it empty.",
        "wants": "What the person asks for: a bed-space, support at home only, or either.",
        "home_area": "Code of the area the person lives in now, where support at home is given.",
    },
}

# One made-up row per sheet, so a template shows how cells are written.
EXAMPLES: dict[str, dict[str, str]] = {
    "units": {
        "id": "U-HOST-01",
        "name": "Riverside hostel",
        "area": "A01",
        "kind": "adult_mixed",
        "gender_policy": "mixed",
        "staffing": "24_7",
        "max_risk": "high",
        "offers": "cooking;gardening",
        "pathway": "recovery",
    },
    "bedspaces": {"id": "B-HOST-01-1", "unit": "U-HOST-01", "cluster": "first floor"},
    "referrals": {
        "id": "R-0001",
        "referred": "07/12/2026",
        "age": "24",
        "gender": "woman",
        "needs_women_only": "yes",
        "risk": "medium",
        "flags": "da_victim",
        "support_hours": "6",
        "preferred_areas": "A01;A02",
        "priority": "4",
    },
}


@dataclass(frozen=True)
class Column:
    name: str
    meaning: str
    takes: str  # what may be written in it
    needed: bool  # a new row must fill it in
    default: str  # what an empty cell of a new row stands for


def _annotation(info: FieldInfo) -> Any:
    """The field's type without `| None` (and its list, if it is one)."""
    annotation = info.annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else annotation
    return annotation


def _takes(info: FieldInfo) -> str:
    annotation = _annotation(info)
    listed = typing.get_origin(annotation) is list
    if listed:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        one = "one of " + ", ".join(str(member.value) for member in annotation)
    elif typing.get_origin(annotation) is typing.Literal:
        one = "one of " + ", ".join(str(value) for value in typing.get_args(annotation))
    elif annotation is bool:
        one = "yes or no"
    elif annotation is int:
        one = "a whole number"
    elif annotation is float:
        one = "a number"
    elif annotation is datetime:
        one = "a date (DD/MM/YYYY or YYYY-MM-DD), with a time if known (HH:MM)"
    elif annotation is date:
        one = "a date (DD/MM/YYYY or YYYY-MM-DD)"
    else:
        one = "text"
    bounds = [m for m in info.metadata if hasattr(m, "ge") or hasattr(m, "le")]
    low = next((m.ge for m in bounds if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in bounds if getattr(m, "le", None) is not None), None)
    if low is not None and high is not None and high < 10**6:
        one += f" from {low:g} to {high:g}"
    return f"a list of {one.replace('one of', 'values from')}, separated by ;" if listed else one


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return ""
    value = info.get_default(call_default_factory=True)
    if value in (None, "", []):
        return "none"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value >= 1e6:
        return "no limit"
    if isinstance(value, int) and value >= 10**6:
        return "no limit"
    return str(value)


def columns(kind: str) -> list[Column]:
    """Every column of the sheet for `kind` ("units", "bedspaces" or "referrals")."""
    model: type[BaseModel] = IMPORTABLE[kind].model
    notes = NOTES[kind]
    # Fields the service never fills in by default, although a problem document may.
    no_default = REQUIRED_ON_CREATE.get(kind, frozenset())
    return [
        Column(
            name=name,
            meaning=notes.get(name, ""),
            takes=_takes(info),
            needed=info.is_required() or name in no_default,
            default="" if name in no_default else _default(info),
        )
        for name, info in model.model_fields.items()
    ]


def template_csv(kind: str) -> bytes:
    """The header row and one example row, UTF-8 with a byte-order mark (spreadsheet
    programs then read accents right)."""
    names = [c.name for c in columns(kind)]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names)
    writer.writeheader()
    writer.writerow({n: EXAMPLES[kind].get(n, "") for n in names})
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(kind: str) -> bytes:
    """The same sheet first (the one an import reads), then a sheet of notes per column."""
    cols = columns(kind)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = kind
    sheet.append([c.name for c in cols])
    sheet.append([EXAMPLES[kind].get(c.name, "") for c in cols])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    notes = book.create_sheet("Columns")
    notes.append(
        [
            "column",
            "what it means",
            "what it takes",
            "a new row must fill it in",
            "an empty cell of a new row means",
        ]
    )
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for c in cols:
        notes.append([c.name, c.meaning, c.takes, "yes" if c.needed else "no", c.default])
    notes.append([])
    notes.append(
        [f"On a row for a stored id, an empty cell keeps what is stored; {CLEAR} empties it."]
    )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


__all__ = ["Column", "EXAMPLES", "NOTES", "columns", "template_csv", "template_xlsx"]
