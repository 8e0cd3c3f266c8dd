"""The checker finds every violation injected into a valid solution, and nothing in a valid one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from constraints.checker import check
from constraints.eligibility import eligibility
from matcher.errors import ProblemInvalid
from matcher.model import Assignment, Problem, Solution
from tests.constraints.rule_cases import case, resident
from tests.strategies import problems

# Capacity rules are checked on totals, under these names.
NAME_ON_TOTALS = {
    "high_risk_room_left": "high_risk_within_unit_limit",
    "support_hours_room_left": "support_hours_within_capacity",
    "support_team_available": "support_team_required",
    "women_only_reserve_held": "women_only_reserve_held",
}


def valid_solution(problem: Problem) -> list[Assignment]:
    """Place referrals one at a time wherever the checker still finds nothing (no backend)."""
    result = eligibility(problem)
    placed: list[Assignment] = []
    used: set[str] = set()
    for r, referral in enumerate(problem.referrals):
        for b, bed in enumerate(problem.bedspaces):
            if not result.allowed[r, b] or bed.id in used:
                continue
            teams = [None] + [t.id for t in problem.support_teams]
            for team in teams:
                trial = [
                    *placed,
                    Assignment(referral=referral.id, bedspace=bed.id, support_team=team),
                ]
                if not check(problem, Solution(assignments=trial)):
                    placed, used = trial, used | {bed.id}
                    break
            if bed.id in used:
                break
    return placed


@given(problems(max_referrals=5, max_beds=6), st.data())
def test_injected_ineligible_placement_is_reported_by_rule(
    problem: Problem, data: st.DataObject
) -> None:
    placed = valid_solution(problem)
    assert check(problem, Solution(assignments=placed)) == []
    result = eligibility(problem, reasons=True)
    placed_ids = {a.referral for a in placed}
    used_beds = {a.bedspace for a in placed}
    candidates = [
        (r, b)
        for r, referral in enumerate(problem.referrals)
        for b, bed in enumerate(problem.bedspaces)
        if referral.id not in placed_ids and bed.id not in used_beds and not result.allowed[r, b]
    ]
    assume(candidates)
    r, b = data.draw(st.sampled_from(candidates))
    injected = Assignment(referral=problem.referrals[r].id, bedspace=problem.bedspaces[b].id)
    found = {v.rule for v in check(problem, Solution(assignments=[*placed, injected]))}
    for rule in result.rules_failed(r, b):
        assert NAME_ON_TOTALS.get(rule.name, rule.name) in found


@given(problems(max_referrals=5, max_beds=6))
def test_double_booking_and_double_placement_are_reported(problem: Problem) -> None:
    placed = valid_solution(problem)
    assume(placed)
    first = placed[0]
    twice = [*placed, first]
    assert "each_referral_placed_once" in {
        v.rule for v in check(problem, Solution(assignments=twice))
    }
    others = [r for r in problem.referrals if r.id not in {a.referral for a in placed}]
    assume(others)
    shared = [*placed, Assignment(referral=others[0].id, bedspace=first.bedspace)]
    assert "one_person_per_bedspace" in {
        v.rule for v in check(problem, Solution(assignments=shared))
    }


def _two_newcomers(first: dict[str, Any], second: dict[str, Any], **kwargs: Any) -> Problem:
    second = {"id": "R2", "referred": "2026-10-01", **second}
    return case(referral=first, extra_referrals=[second], **kwargs)


def _rules(problem: Problem, *pairs: tuple[str, str, str | None]) -> set[str]:
    assignments = [Assignment(referral=r, bedspace=b, support_team=t) for r, b, t in pairs]
    return {v.rule for v in check(problem, Solution(assignments=assignments))}


def test_cluster_never_holds_a_man_and_a_woman_newcomer() -> None:
    problem = _two_newcomers({}, {"age": 30, "gender": "woman"})
    assert "cluster_never_mixed_gender" in _rules(problem, ("R1", "B1", None), ("R2", "B2", None))
    assert _rules(problem, ("R1", "B1", None), ("R2", "B3", None)) == set()


def test_risk_to_women_newcomer_never_with_a_woman_newcomer() -> None:
    problem = _two_newcomers({"flags": ["risk_to_women"]}, {"age": 30, "gender": "woman"})
    assert "risk_to_women_never_with_women" in _rules(
        problem, ("R1", "B1", None), ("R2", "B3", None)
    )
    assert _rules(problem, ("R1", "B1", None), ("R2", "S1", None)) == set()


def test_high_risk_and_support_hours_counted_over_all_newcomers() -> None:
    problem = _two_newcomers(
        {"risk": "high", "support_hours": 3},
        {"age": 30, "gender": "man", "risk": "high", "support_hours": 3},
        unit={"max_high_risk_residents": 2, "support_hours_capacity": 8},
        residents=[resident("P1", "B2", risk="high", support_hours=4)],
    )
    found = _rules(problem, ("R1", "B1", None), ("R2", "B3", None))
    assert {"high_risk_within_unit_limit", "support_hours_within_capacity"} <= found
    assert _rules(problem, ("R1", "B1", None)) == set()


def test_team_caseload_and_fit() -> None:
    team = {
        "id": "T1",
        "kind": "navigator",
        "area": "north",
        "caseload_capacity": 3,
        "current_caseload": 2,
    }
    problem = _two_newcomers(
        {}, {"age": 30, "gender": "man"}, unit={"staffing": "visiting"}, teams=[team]
    )
    assert "team_caseload_within_capacity" in _rules(
        problem, ("R1", "B1", "T1"), ("R2", "B3", "T1")
    )
    assert "support_team_required" in _rules(problem, ("R1", "B1", None))
    assert _rules(problem, ("R1", "B1", "T1")) == set()
    hf = case(unit={"staffing": "visiting", "pathway": "housing_first"}, teams=[team])
    assert "support_team_fits" in _rules(hf, ("R1", "B1", "T1"))


def test_keep_apart_couples_and_da_areas() -> None:
    apart = _two_newcomers({"keep_apart": ["R2"]}, {"age": 30, "gender": "man"})
    assert "keep_apart_never_in_same_unit" in _rules(apart, ("R1", "B1", None), ("R2", "B3", None))
    assert _rules(apart, ("R1", "B1", None), ("R2", "S1", None)) == set()

    couple = _two_newcomers({"keep_together": ["R2"]}, {"age": 30, "gender": "man"})
    assert "keep_together_same_unit_or_neither" in _rules(couple, ("R1", "B1", None))
    assert "keep_together_same_unit_or_neither" in _rules(
        couple, ("R1", "B1", None), ("R2", "S1", None)
    )
    assert _rules(couple, ("R1", "B1", None), ("R2", "B3", None)) == set()
    assert _rules(couple) == set()

    da = case(
        referral={"flags": ["da_perpetrator"], "keep_apart": ["R2"]},
        unit={"area": "south"},
        extra_referrals=[
            {
                "id": "R2",
                "referred": "2026-10-01",
                "age": 30,
                "gender": "woman",
                "flags": ["da_victim"],
            }
        ],
    )
    # U1 and U2 are both in the south now: different units, same area.
    assert "da_victim_and_perpetrator_never_in_same_area" in _rules(
        da, ("R1", "B1", None), ("R2", "S1", None)
    )


def test_women_only_reserve_counts_all_non_exempt_newcomers() -> None:
    problem = _two_newcomers(
        {"gender": "woman"},
        {"age": 30, "gender": "woman"},
        unit={"gender_policy": "women_only"},
        policy={"women_only_reserve": 2},
    )
    # Three free women-only bed-spaces, two held back: one ordinary referral may take one.
    assert _rules(problem, ("R1", "B1", None)) == set()
    assert "women_only_reserve_held" in _rules(problem, ("R1", "B1", None), ("R2", "B2", None))


def test_unknown_ids_in_a_solution_are_invalid_input() -> None:
    problem = case()
    with pytest.raises(
        ProblemInvalid, match=r"assignments\[0\].bedspace: unknown bed-space id 'nope'"
    ):
        check(problem, Solution(assignments=[Assignment(referral="R1", bedspace="nope")]))
