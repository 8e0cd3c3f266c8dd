"""Every team rule bites on a support-only placement (a team alone, in the person's home),
and its closest twin is allowed: the checker learns support-only placements."""

from __future__ import annotations

from typing import Any

import pytest

from constraints.checker import check, support_placement_violations
from matcher.errors import ProblemInvalid
from matcher.model import Assignment, Problem, Solution, SupportPlacement, parse_problem
from tests.constraints.rule_cases import case

NAVIGATOR = {"id": "T1", "kind": "navigator", "area": "north", "caseload_capacity": 3}
AT_HOME = {"wants": "support_only", "home_area": "north"}


def _problem(
    referral: dict[str, Any] | None = None,
    team: dict[str, Any] | None = None,
    community: list[dict[str, Any]] | None = None,
) -> Problem:
    problem = case(referral={**AT_HOME, **(referral or {})}, teams=[{**NAVIGATOR, **(team or {})}])
    if community is None:
        return problem
    return parse_problem({**problem.model_dump(mode="json"), "community_support": community})


def _broken(problem: Problem, team: str = "T1") -> set[str]:
    placement = SupportPlacement(referral="R1", support_team=team)
    return {v.rule for v in support_placement_violations(problem, [placement])}


# rule -> (what makes it bite on a support-only placement, the closest twin that keeps it)
TEAM_RULES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "support_team_fits": (
        {"referral": {"home_area": "south"}},
        {"referral": {"home_area": "north"}},
    ),
    "never_in_excluded_area": (
        {"referral": {"excluded_areas": ["north"]}},
        {"referral": {"excluded_areas": ["south"]}},
    ),
    "team_caseload_within_capacity": (
        {"team": {"current_caseload": 3}},
        {"team": {"current_caseload": 2}},
    ),
    "team_support_hours_within_capacity": (
        {"referral": {"support_hours": 4}, "team": {"support_hours_capacity": 3}},
        {"referral": {"support_hours": 3}, "team": {"support_hours_capacity": 3}},
    ),
    "placed_as_they_asked": (
        {"referral": {"wants": "bed"}},
        {"referral": {"wants": "either"}},
    ),
}


@pytest.mark.parametrize("name", sorted(TEAM_RULES))
def test_team_rule_bites_on_a_support_only_placement(name: str) -> None:
    bites, keeps = TEAM_RULES[name]
    assert _broken(_problem(**bites)) == {name}
    assert _broken(_problem(**keeps)) == set()


def test_housing_first_needs_an_intensive_team_at_home() -> None:
    housing_first = {"pathway": "housing_first"}
    assert _broken(_problem(housing_first)) == {"support_team_fits"}
    assert _broken(_problem(housing_first, {"kind": "intensive"})) == set()


def test_a_wanted_female_worker_is_needed_at_home() -> None:
    female = {"wants_female_worker": True}
    assert _broken(_problem(female)) == {"support_team_fits"}
    assert _broken(_problem(female, {"female_workers": 1})) == set()


def test_people_supported_in_the_community_count_in_hours_and_caseload() -> None:
    community = [{"id": "C1", "support_team": "T1", "area": "north", "support_hours": 2}]
    hours: dict[str, dict[str, Any]] = {
        "referral": {"support_hours": 2},
        "team": {"support_hours_capacity": 3},
    }
    # 3 hours a week: 2 already given at home, 2 more asked for.
    assert _broken(_problem(**hours)) == set()
    supported = _problem(
        hours["referral"], {**hours["team"], "current_caseload": 1}, community=community
    )
    assert _broken(supported) == {"team_support_hours_within_capacity"}
    # The team's caseload includes them: it cannot say fewer than it supports.
    with pytest.raises(ProblemInvalid, match="current_caseload"):
        _problem(community=community)


def test_caseloads_count_bed_placements_and_support_at_home_together() -> None:
    problem = case(
        unit={"staffing": "visiting"},
        referral=AT_HOME,
        extra_referrals=[{"id": "R2", "referred": "2026-10-01", "age": 30, "gender": "man"}],
        teams=[{**NAVIGATOR, "caseload_capacity": 1}],
    )
    both = Solution(
        assignments=[Assignment(referral="R2", bedspace="B1", support_team="T1")],
        support_placements=[SupportPlacement(referral="R1", support_team="T1")],
    )
    assert {v.rule for v in check(problem, both)} == {"team_caseload_within_capacity"}


def test_a_referral_is_not_placed_both_in_a_bed_space_and_at_home() -> None:
    problem = _problem({"wants": "either"})
    twice = Solution(
        assignments=[Assignment(referral="R1", bedspace="B1")],
        support_placements=[SupportPlacement(referral="R1", support_team="T1")],
    )
    assert {v.rule for v in check(problem, twice)} == {"each_referral_placed_once"}


def test_an_unknown_team_is_named() -> None:
    with pytest.raises(
        ProblemInvalid, match=r"support_placements\[0\]\.support_team: unknown support team"
    ):
        _broken(_problem(), team="T9")


def test_support_at_home_needs_a_home_area() -> None:
    with pytest.raises(ProblemInvalid, match="home_area"):
        case(referral={"wants": "either"})


def test_a_da_victim_supported_at_home_counts_in_her_area() -> None:
    problem = case(
        referral={
            **AT_HOME,
            "gender": "woman",
            "flags": ["da_victim"],
            "keep_apart": ["R2"],
        },
        extra_referrals=[
            {
                "id": "R2",
                "referred": "2026-10-01",
                "age": 30,
                "gender": "man",
                "flags": ["da_perpetrator"],
            }
        ],
        teams=[NAVIGATOR],
    )
    both = Solution(
        assignments=[Assignment(referral="R2", bedspace="B1")],
        support_placements=[SupportPlacement(referral="R1", support_team="T1")],
    )
    assert {v.rule for v in check(problem, both)} == {
        "da_victim_and_perpetrator_never_in_same_area"
    }
    elsewhere = Solution(
        assignments=[Assignment(referral="R2", bedspace="S1")],
        support_placements=[SupportPlacement(referral="R1", support_team="T1")],
    )
    assert check(problem, elsewhere) == []


def test_a_team_that_may_not_support_at_home_says_each_part_it_fails() -> None:
    problem = _problem(
        {"home_area": "south", "pathway": "housing_first", "wants_female_worker": True}
    )
    placement = SupportPlacement(referral="R1", support_team="T1")
    [message] = [v.message for v in support_placement_violations(problem, [placement])]
    assert message == (
        "Team T1 cannot support R1 at home: the team works in area north; the person lives in "
        "area south; Housing First needs an intensive team; this is a navigator team; the "
        "person wants a female worker; the team has none."
    )
