"""The ranking offers "support only" beside bed-spaces to a person who may take it."""

from __future__ import annotations

from matcher.ranking import build_context, rank
from tests.constraints.rule_cases import case

TEAMS = [
    {"id": "T1", "kind": "navigator", "area": "north", "caseload_capacity": 3},
    {"id": "T2", "kind": "intensive", "area": "north", "caseload_capacity": 5, "female_workers": 1},
    {"id": "T3", "kind": "navigator", "area": "south", "caseload_capacity": 3},
]


def test_support_only_is_offered_with_its_reasons_and_no_bed_space() -> None:
    problem = case(
        referral={"wants": "support_only", "home_area": "north", "wants_female_worker": True},
        teams=TEAMS,
    )
    answer = rank(build_context(problem), "R1")
    assert answer.ranked == []
    assert answer.excluded_by_rule == {"placed_as_they_asked": 2}
    assert [o.support_team for o in answer.support_only] == ["T2"]
    assert "Has a female worker, as the person asked." in answer.support_only[0].reasons
    assert answer.support_only[0].reasons[0] == "Works in North, where the person lives."
    shut = {t.support_team: t.rules for t in answer.support_only_excluded}
    assert shut == {"T1": ["support_team_fits"], "T3": ["support_team_fits"]}


def test_either_gets_bed_spaces_and_support_only_and_a_bed_only_person_no_support() -> None:
    either = case(referral={"wants": "either", "home_area": "north"}, teams=TEAMS)
    answer = rank(build_context(either), "R1")
    assert answer.ranked and [o.support_team for o in answer.support_only] == ["T2", "T1"]
    bed_only = rank(build_context(case(teams=TEAMS)), "R1")
    assert bed_only.ranked and bed_only.support_only == []
    assert bed_only.support_only_excluded == []


def test_a_full_caseload_is_a_reason_not_an_option() -> None:
    full = [{**TEAMS[0], "current_caseload": 3}]
    answer = rank(
        build_context(case(referral={"wants": "support_only", "home_area": "north"}, teams=full)),
        "R1",
    )
    assert answer.support_only == []
    assert answer.support_only_excluded[0].rules == ["team_caseload_within_capacity"]
    assert "its capacity is 3" in answer.support_only_excluded[0].reasons[0]
