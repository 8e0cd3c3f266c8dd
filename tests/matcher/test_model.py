"""The problem document: every bad field is named with its reason, and rejected whole."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from matcher.errors import ProblemInvalid
from matcher.model import parse_problem

GOOD: dict[str, Any] = {
    "as_of": "2026-11-23",
    "areas": [{"id": "A1", "name": "North"}, {"id": "A2", "name": "South"}],
    "links": [{"a": "A1", "b": "A2", "minutes": 20}],
    "units": [{"id": "U1", "area": "A1", "kind": "young_persons", "min_age": 16, "max_age": 25}],
    "bedspaces": [{"id": "B1", "unit": "U1"}, {"id": "B2", "unit": "U1"}],
    "support_teams": [
        {
            "id": "T1",
            "kind": "navigator",
            "area": "A1",
            "caseload_capacity": 15,
            "current_caseload": 3,
        }
    ],
    "residents": [{"id": "P1", "bedspace": "B1", "gender": "man", "age": 19}],
    "referrals": [
        {"id": "R1", "referred": "2026-10-01", "age": 17, "gender": "woman"},
        {"id": "R2", "referred": "2026-10-02", "age": 18, "gender": "man"},
    ],
}


def _issues(edit: Any) -> list[str]:
    document = copy.deepcopy(GOOD)
    edit(document)
    with pytest.raises(ProblemInvalid) as caught:
        parse_problem(document)
    return [str(issue) for issue in caught.value.issues]


def test_the_good_document_is_valid() -> None:
    problem = parse_problem(GOOD)
    assert [r.id for r in problem.referrals] == ["R1", "R2"]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["units"].append(dict(d["units"][0])), "units[1].id: duplicate id 'U1'"),
        (lambda d: d["bedspaces"][1].update(unit="U9"), "bedspaces[1].unit: unknown unit id 'U9'"),
        (
            lambda d: d["residents"][0].update(bedspace="B9"),
            "residents[0].bedspace: unknown bed-space id 'B9'",
        ),
        (
            lambda d: d["referrals"][0].update(keep_apart=["X"]),
            "referrals[0].keep_apart[0]: unknown referral or resident id 'X'",
        ),
        (
            lambda d: d["referrals"][0].update(keep_together=["P1"]),
            "referrals[0].keep_together[0]: unknown referral id 'P1'",
        ),
        (
            lambda d: d["referrals"][1].update(keep_together=["R2"]),
            "referrals[1].keep_together[0]: a referral cannot name itself",
        ),
        (
            lambda d: d["referrals"][0].update(excluded_areas=["Z"]),
            "referrals[0].excluded_areas[0]: unknown area id 'Z'",
        ),
        (lambda d: d["links"][0].update(b="Z"), "links[0].b: unknown area id 'Z'"),
        (
            lambda d: d["referrals"][0].update(age=15),
            "referrals[0].age: Input should be greater than or equal to 16",
        ),
        (
            lambda d: d["units"][0].update(min_age=30),
            "units[0]: min_age 30 is above max_age 25",
        ),
        (
            lambda d: d["units"][0].update(support_hours_capacity=-1),
            "units[0].support_hours_capacity: Input should be greater than or equal to 0",
        ),
        (
            lambda d: d["support_teams"][0].update(current_caseload=16),
            "support_teams[0]: current_caseload 16 is above caseload_capacity 15",
        ),
        (
            lambda d: d["residents"].append(
                {"id": "P2", "bedspace": "B1", "gender": "man", "age": 20}
            ),
            "residents[1].bedspace: bed-space 'B1' already holds resident 'P1'",
        ),
        (
            lambda d: d["referrals"][0].update(gender="female"),
            "referrals[0].gender: Input should be 'woman', 'man' or 'non_binary'",
        ),
        (lambda d: d["referrals"][0].pop("age"), "referrals[0].age: field required"),
        (
            lambda d: d["units"][0].update(kind="women_only", gender_policy="mixed"),
            "units[0]: gender_policy must be women_only for a unit of kind women_only, not mixed",
        ),
        (
            lambda d: d["units"][0].update(kind="refuge", confidential_address=True),
            "units[0]: gender_policy must be women_only or men_only for a refuge, not mixed",
        ),
        (
            lambda d: d["units"][0].update(kind="refuge", gender_policy="women_only"),
            "units[0]: confidential_address must be true for a refuge",
        ),
        (lambda d: d.update(colour="red"), "colour: Extra inputs are not permitted"),
    ],
)
def test_each_bad_field_is_named_with_its_reason(edit: Any, expected: str) -> None:
    assert expected in _issues(edit)


def test_a_resident_who_has_left_frees_the_bed_space_for_the_next() -> None:
    document = copy.deepcopy(GOOD)
    document["residents"][0]["expected_leave"] = "2026-11-23"
    document["residents"].append({"id": "P2", "bedspace": "B1", "gender": "man", "age": 20})
    assert len(parse_problem(document).residents) == 2


def test_every_issue_is_reported_not_just_the_first() -> None:
    def two_faults(d: dict[str, Any]) -> None:
        d["bedspaces"][0]["unit"] = "U8"
        d["referrals"][1]["preferred_areas"] = ["Q"]

    assert len(_issues(two_faults)) == 2
