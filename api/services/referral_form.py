"""The referral form a coordinator fills in: every field of a referral, read from the posted
form into the model's values, and the model's own messages put back beside their fields.

An edit stores only what changed (`api.services.changes.diff`, then `inventory.patch`), so
a form saved untouched changes nothing, and what did change is audited field by field like
any other update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

from matcher.errors import Issue
from matcher.model import Flag, Gender, Pathway, Risk, Wants

LIST_OF_IDS = ("keep_apart", "keep_together")
AREA_LISTS = ("preferred_areas", "excluded_areas")
SWITCHES = ("needs_women_only", "wants_female_worker", "needs_24_7", "needs_accessible")
PERSONAL = ("name", "case_reference")
NUMBERS = ("age", "household_size", "support_hours", "priority")
CHOICES = {
    "gender": [g.value for g in Gender],
    "risk": [r.value for r in Risk],
    "pathway": [p.value for p in Pathway],
    "wants": list(get_args(Wants)),
}
FLAGS = [f.value for f in Flag]


# In the order a coordinator fills them in, with the words they read.
LABELS = {
    "id": "Referral id",
    "name": "Name (the name the person wants used)",
    "case_reference": "Case reference",
    "referred": "Referred on",
    "referred_time": "at (time, UTC; blank reads as midnight)",
    "age": "Age",
    "gender": "Gender",
    "risk": "Risk",
    "flags": "Flags",
    "priority": "Priority (1 routine to 5 most urgent)",
    "pathway": "Pathway",
    "household_size": "People in the household",
    "support_hours": "Support hours a week",
    "needs_women_only": "Needs a women-only space",
    "wants_female_worker": "Wants a female worker",
    "needs_24_7": "Needs 24-hour staffing",
    "needs_accessible": "Needs an accessible bed-space",
    "preferred_areas": "Preferred areas",
    "excluded_areas": "Never to be placed in",
    "strengths": "Strengths and interests (comma-separated)",
    "keep_apart": "Keep apart from (referral or resident ids, comma-separated)",
    "keep_together": "Moves in with (referral ids, comma-separated)",
    "wants": "Asks for",
    "home_area": "Lives in area (where support at home is given)",
}
WANTS_WORDS = {
    "bed": "a bed-space",
    "support_only": "support at home only",
    "either": "a bed-space or support at home",
}


def from_form(form: Mapping[str, Any], multi: Mapping[str, list[str]]) -> dict[str, Any]:
    """The posted form as the model's fields (unvalidated: the model judges them)."""
    data: dict[str, Any] = {}
    for name in ("id", "referred", "gender", "risk", "pathway", "wants", *NUMBERS):
        value = str(form.get(name, "")).strip()
        if value:
            data[name] = value
    moment = str(form.get("referred_time", "")).strip()
    if moment and data.get("referred"):  # the time of referral, where it is known
        data["referred"] = f"{data['referred']}T{moment}"
    for name in (*PERSONAL, "home_area"):  # blank: not recorded
        data[name] = str(form.get(name, "")).strip() or None
    for name in SWITCHES:
        data[name] = form.get(name) == "on"
    data["flags"] = list(multi.get("flags", []))
    for name in AREA_LISTS:
        data[name] = list(multi.get(name, []))
    data["strengths"] = _words(str(form.get("strengths", "")))
    for name in LIST_OF_IDS:
        data[name] = _words(str(form.get(name, "")))
    return data


def messages(issues: list[Issue]) -> dict[str, list[str]]:
    """Each issue under the field it is about ("" for the form as a whole)."""
    by_field: dict[str, list[str]] = {}
    for issue in issues:
        parts = [p for p in issue.loc if p != "body"]
        name = str(parts[0]) if parts and isinstance(parts[0], str) else ""
        by_field.setdefault(name if name in LABELS else "", []).append(issue.msg)
    return by_field


def _words(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]
