"""Every string, list and number in the problem document is bounded, and the bounds are named
with the field when they bite (`matcher.limits`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel

from matcher import limits
from matcher.errors import ProblemInvalid
from matcher.model import (
    Area,
    BedSpace,
    Link,
    Referral,
    Resident,
    SupportTeam,
    Unit,
    parse_problem,
)
from tests.matcher.test_model import GOOD

Edit = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Edit:
    def edit(document: dict[str, Any]) -> None:
        target = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def refused_at(edit: Edit) -> list[tuple[Any, ...]]:
    document = copy.deepcopy(GOOD)
    edit(document)
    with pytest.raises(ProblemInvalid) as caught:
        parse_problem(document)
    return [issue.loc for issue in caught.value.issues]


LONG_ID = "U" * (limits.ID_MAX_LENGTH + 1)
CASES = {
    "age at 2**63": (("referrals", 0, "age"), 2**63),
    "resident age at 2**31": (("residents", 0, "age"), 2**31),
    "caseload at 2**70": (("support_teams", 0, "caseload_capacity"), 2**70),
    "current caseload at 2**31": (("support_teams", 0, "current_caseload"), 2**31),
    "female workers at 2**31": (("support_teams", 0, "female_workers"), 2**31),
    "household of 2**31": (("referrals", 0, "household_size"), 2**31),
    "max age past the bound": (("units", 0, "max_age"), limits.AGE_MAX + 1),
    "high-risk residents at 2**31": (("units", 0, "max_high_risk_residents"), 2**31),
    "support hours capacity infinite": (("units", 0, "support_hours_capacity"), float("inf")),
    "support hours beyond a week": (("referrals", 0, "support_hours"), 169),
    "resident support hours NaN": (("residents", 0, "support_hours"), float("nan")),
    "travel minutes huge": (("links", 0, "minutes"), 1e300),
    "reserve at 2**31": (("policy", "women_only_reserve"), 2**31),
    "id too long": (("units", 0, "id"), LONG_ID),
    "id of 10 MB": (("referrals", 0, "id"), "R" * 10_000_000),
    "id with NUL": (("referrals", 0, "id"), "R\x001"),
    "id with a slash": (("bedspaces", 0, "id"), "B/1"),
    "id with a line feed": (("areas", 0, "id"), "A\n1"),
    "id with a tab": (("support_teams", 0, "id"), "T\t1"),
    "id with a space": (("residents", 0, "id"), "P 1"),
    "empty id": (("units", 0, "id"), ""),
    "reference too long": (("bedspaces", 0, "unit"), LONG_ID),
    "name too long": (("areas", 0, "name"), "N" * (limits.NAME_MAX_LENGTH + 1)),
    "name with NUL": (("units", 0, "name"), "Hostel\x00"),
    "address too long": (("units", 0, "address"), "a" * (limits.ADDRESS_MAX_LENGTH + 1)),
    "address with NUL": (("units", 0, "address"), "1 High St\x00"),
    "cluster too long": (("bedspaces", 0, "cluster"), "c" * (limits.LABEL_MAX_LENGTH + 1)),
    "a million strengths": (("referrals", 0, "strengths"), ["art"] * 1_000_000),
    "too many offers": (("units", 0, "offers"), ["art"] * (limits.TAGS_MAX + 1)),
    "a strength too long": (("referrals", 0, "strengths"), ["s" * 65]),
    "an offer with NUL": (("units", 0, "offers"), ["art\x00"]),
    "too many preferred areas": (("referrals", 0, "preferred_areas"), ["A1"] * 1001),
    "a keep-apart id with a slash": (("referrals", 0, "keep_apart"), ["R/2"]),
    "flags repeated past their number": (("referrals", 0, "flags"), ["arson"] * 12),
    "a weight past the bound": (("policy", "weights"), {"waiting": 1e9}),
    "a weight that is not a number": (("policy", "weights"), {"waiting": float("nan")}),
    "too many weights": (("policy", "weights"), {f"t{i}": 1.0 for i in range(65)}),
}


@pytest.mark.parametrize(("path", "value"), CASES.values(), ids=list(CASES))
def test_an_out_of_bounds_value_is_refused_naming_its_field(
    path: tuple[Any, ...], value: Any
) -> None:
    def edit(document: dict[str, Any]) -> None:
        document.setdefault("policy", {})
        _set(path, value)(document)

    locs = refused_at(edit)
    assert any(loc[: len(path)] == path for loc in locs), locs


@pytest.mark.parametrize("value", ["R-1", "r_2", "Ward.3", "A" * limits.ID_MAX_LENGTH])
def test_plain_ids_up_to_the_column_length_are_accepted(value: str) -> None:
    document = copy.deepcopy(GOOD)
    document["referrals"][0]["id"] = value
    assert parse_problem(document).referrals[0].id == value


def test_names_and_addresses_may_be_any_printable_text() -> None:
    document = copy.deepcopy(GOOD)
    document["units"][0]["name"] = "Ty Gwyn – St Mary’s (women) #2"
    document["units"][0]["address"] = "Flat 2\n14 Chapel Road\tCF10 1AA"
    problem = parse_problem(document)
    assert problem.units[0].address is not None and "\n" in problem.units[0].address


def _string_bound(model: type[BaseModel], field: str) -> int | None:
    for meta in model.model_fields[field].metadata:
        if getattr(meta, "max_length", None) is not None:
            return int(meta.max_length)
    return None


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (Area, "id"),
        (Area, "name"),
        (Link, "a"),
        (Unit, "id"),
        (Unit, "name"),
        (Unit, "area"),
        (BedSpace, "id"),
        (BedSpace, "unit"),
        (BedSpace, "cluster"),
        (SupportTeam, "id"),
        (Resident, "id"),
        (Resident, "bedspace"),
        (Referral, "id"),
    ],
)
def test_every_id_and_name_is_bounded(model: type[BaseModel], field: str) -> None:
    assert _string_bound(model, field) is not None, f"{model.__name__}.{field}"
