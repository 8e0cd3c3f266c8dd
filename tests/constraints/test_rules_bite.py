"""Every pair rule bites: a placement that breaks it is excluded with its reason, and the
closest placement that does not break it is allowed (STYLE.md §1, §6)."""

from __future__ import annotations

from typing import Any

import pytest

from constraints import PAIR_RULES, RULES_BY_NAME
from constraints.checker import check
from constraints.eligibility import eligibility
from matcher.model import Assignment, Problem, Solution
from tests.constraints.rule_cases import case, resident

HF_TEAM = {"id": "T1", "kind": "intensive", "area": "north", "caseload_capacity": 6}
NAV_TEAM = {"id": "T2", "kind": "navigator", "area": "north", "caseload_capacity": 15}
# A refuge is women-only at a confidential address (the model refuses anything else), so the
# perpetrator rule is shown biting on a woman, whom the gender rules would let in.
REFUGE = {"gender_policy": "women_only", "confidential_address": True}
WOMAN_PERPETRATOR = {"gender": "woman", "flags": ["da_perpetrator"]}

# rule name -> (arguments that make it bite, arguments of the closest allowed placement)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "bedspace_free_on_date": (
        {"bed": {"available_from": "2026-12-01"}},
        {"bed": {"available_from": "2026-11-23"}},
    ),
    "women_only_units_take_only_women": (
        {"unit": {"gender_policy": "women_only"}},
        {"unit": {"gender_policy": "women_only"}, "referral": {"gender": "woman"}},
    ),
    "men_only_units_take_only_men": (
        {"unit": {"gender_policy": "men_only"}, "referral": {"gender": "non_binary"}},
        {"unit": {"gender_policy": "men_only"}},
    ),
    "women_only_need_met_safely": (
        {"referral": {"gender": "woman", "needs_women_only": True}},
        {
            "unit": {"self_contained": True},
            "referral": {"gender": "woman", "needs_women_only": True},
        },
    ),
    "cluster_gender_consistent_with_residents": (
        {"residents": [resident("P1", "B2", gender="woman")]},
        {"residents": [resident("P1", "B3", gender="woman")]},
    ),
    "no_risk_to_women_beside_women_residents": (
        {
            "referral": {"flags": ["risk_to_women"]},
            "residents": [resident("P1", "B3", gender="woman")],
        },
        {
            "referral": {"flags": ["risk_to_women"]},
            "residents": [resident("P1", "S1", gender="woman")],
        },
    ),
    "women_kept_from_residents_posing_risk": (
        {
            "referral": {"gender": "woman"},
            "residents": [resident("P1", "B3", flags=["risk_to_women"])],
        },
        {"referral": {"gender": "woman"}, "residents": [resident("P1", "B3")]},
    ),
    "no_perpetrator_in_refuge": (
        {"unit": {"kind": "refuge", **REFUGE}, "referral": WOMAN_PERPETRATOR},
        {"unit": {"kind": "adult_mixed", **REFUGE}, "referral": WOMAN_PERPETRATOR},
    ),
    "no_risk_to_children_in_family_units": (
        {"unit": {"kind": "family"}, "referral": {"flags": ["risk_to_children"]}},
        {"unit": {"kind": "family"}, "referral": {"flags": ["substance_use"]}},
    ),
    "within_age_band": (
        {"unit": {"min_age": 16, "max_age": 25}, "referral": {"age": 26}},
        {"unit": {"min_age": 16, "max_age": 25}, "referral": {"age": 25}},
    ),
    "under_18s_only_where_approved": (
        {"unit": {"min_age": 16, "max_age": 25}, "referral": {"age": 17}},
        {
            "unit": {"min_age": 16, "max_age": 25, "under_18_approved": True},
            "referral": {"age": 17},
        },
    ),
    "risk_within_unit_maximum": (
        {"unit": {"max_risk": "medium"}, "referral": {"risk": "high"}},
        {"unit": {"max_risk": "medium"}, "referral": {"risk": "medium"}},
    ),
    "mappa_2_3_only_in_approved_24_7_units": (
        {"unit": {"mappa_approved": False}, "referral": {"flags": ["mappa_2"]}},
        {"unit": {"mappa_approved": True}, "referral": {"flags": ["mappa_2"]}},
    ),
    "high_risk_room_left": (
        {
            "unit": {"max_high_risk_residents": 1},
            "referral": {"risk": "high"},
            "residents": [resident("P1", "B3", risk="very_high")],
        },
        {
            "unit": {"max_high_risk_residents": 2},
            "referral": {"risk": "high"},
            "residents": [resident("P1", "B3", risk="very_high")],
        },
    ),
    "needs_24_7_only_where_staffed": (
        {"unit": {"staffing": "daytime"}, "referral": {"needs_24_7": True}},
        {"unit": {"staffing": "24_7"}, "referral": {"needs_24_7": True}},
    ),
    "support_hours_room_left": (
        {
            "unit": {"support_hours_capacity": 10},
            "referral": {"support_hours": 4},
            "residents": [resident("P1", "B3", support_hours=7)],
        },
        {
            "unit": {"support_hours_capacity": 10},
            "referral": {"support_hours": 3},
            "residents": [resident("P1", "B3", support_hours=7)],
        },
    ),
    "support_team_available": (
        {"unit": {"staffing": "visiting", "pathway": "housing_first"}, "teams": [NAV_TEAM]},
        {"unit": {"staffing": "visiting", "pathway": "housing_first"}, "teams": [HF_TEAM]},
    ),
    "placed_as_they_asked": (
        {"referral": {"wants": "support_only", "home_area": "north"}},
        {"referral": {"wants": "either", "home_area": "north"}},
    ),
    "never_in_excluded_area": (
        {"referral": {"excluded_areas": ["north"]}},
        {"referral": {"excluded_areas": ["south"]}},
    ),
    "da_kept_apart_from_resident_area": (
        {
            "referral": {"gender": "woman", "flags": ["da_victim"], "keep_apart": ["P1"]},
            "unit": {"area": "south"},
            "residents": [resident("P1", "S1", flags=["da_perpetrator"])],
        },
        {
            "referral": {"gender": "woman", "flags": ["da_victim"], "keep_apart": ["P1"]},
            "unit": {"area": "north"},
            "residents": [resident("P1", "S1", flags=["da_perpetrator"])],
        },
    ),
    "kept_apart_from_residents": (
        {"referral": {"keep_apart": ["P1"]}, "residents": [resident("P1", "B3")]},
        {"referral": {"keep_apart": ["P1"]}, "residents": [resident("P1", "S1")]},
    ),
    "accessible_where_needed": (
        {"referral": {"needs_accessible": True}},
        {"referral": {"needs_accessible": True}, "bed": {"accessible": True}},
    ),
    "households_only_in_family_units": (
        {"referral": {"household_size": 3}},
        {"referral": {"household_size": 3}, "unit": {"kind": "family"}},
    ),
    "women_only_reserve_held": (
        {
            "unit": {"gender_policy": "women_only"},
            "referral": {"gender": "woman", "priority": 4, "flags": ["da_victim"]},
            "policy": {"women_only_reserve": 3},
        },
        {
            "unit": {"gender_policy": "women_only"},
            "referral": {"gender": "woman", "priority": 5, "flags": ["da_victim"]},
            "policy": {"women_only_reserve": 3},
        },
    ),
}


def _failed(problem: Problem) -> set[str]:
    result = eligibility(problem, reasons=True)
    return {rule.name for rule in result.rules_failed(0, 0)}


def _solution(problem: Problem) -> Solution:
    team = problem.support_teams[0].id if problem.support_teams else None
    return Solution(assignments=[Assignment(referral="R1", bedspace="B1", support_team=team)])


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == {rule.name for rule in PAIR_RULES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule_bites_with_its_reason(name: str) -> None:
    bites, _ = CASES[name]
    problem = case(**bites)
    assert _failed(problem) == {name}
    result = eligibility(problem, reasons=True)
    assert result.reasons(0, 0) == [RULES_BY_NAME[name].reason]
    assert not result.allowed[0, 0]
    rules_broken = {v.rule for v in check(problem, _solution(problem))}
    assert rules_broken, f"the checker missed {name}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_closest_placement_that_keeps_the_rule_is_allowed(name: str) -> None:
    _, allowed = CASES[name]
    problem = case(**allowed)
    assert _failed(problem) == set()
    assert eligibility(problem).allowed[0, 0]
    assert check(problem, _solution(problem)) == []
