"""Each rule that couples newcomers, shown biting: the solver places everyone by going around it.

Every instance has room for everyone only if the rule is respected in a particular way; the
exact backends must find that way, and nothing may break the rule on the way.
"""

from __future__ import annotations

from typing import Any

import pytest

from constraints.checker import check
from matcher.model import Problem, Solution, parse_problem
from matcher.solve import solve

EXACT = ["cpsat", "pulp"]


def make_problem(
    units: list[dict[str, Any]],
    beds: list[dict[str, Any]],
    referrals: list[dict[str, Any]],
    teams: list[dict[str, Any]] | None = None,
    areas: tuple[str, ...] = ("A0",),
    reserve: int = 0,
) -> Problem:
    return parse_problem(
        {
            "as_of": "2026-11-23",
            "areas": [{"id": a} for a in areas],
            "units": [
                {"area": "A0", "kind": "adult_mixed", "staffing": "24_7", **u} for u in units
            ],
            "bedspaces": beds,
            "support_teams": teams or [],
            "referrals": [
                {"referred": "2026-10-01", "age": 30, "gender": "man", "priority": 3, **r}
                for r in referrals
            ],
            "policy": {"women_only_reserve": reserve},
        }
    )


def solved(problem: Problem, backend: str) -> tuple[Solution, dict[str, str]]:
    solution = solve(problem, backend, 20)
    assert check(problem, solution) == []
    unit_of = {b.id: b.unit for b in problem.bedspaces}
    return solution, {a.referral: unit_of[a.bedspace] for a in solution.assignments}


@pytest.mark.parametrize("backend", EXACT)
def test_one_person_per_bedspace_goes_to_the_higher_priority(backend: str) -> None:
    problem = make_problem(
        [{"id": "U0"}],
        [{"id": "B0", "unit": "U0"}],
        [{"id": "low", "priority": 1}, {"id": "high", "priority": 4}],
    )
    solution, placed = solved(problem, backend)
    assert placed == {"high": "U0"}
    assert solution.unplaced[0].reasons == [
        "eligible bed-spaces all went to higher-priority referrals"
    ]


@pytest.mark.parametrize("backend", EXACT)
def test_open_cluster_never_takes_a_man_and_a_woman(backend: str) -> None:
    # Both score better in the cluster's unit (preferred area), but only one gender fits it.
    problem = make_problem(
        [{"id": "U0", "area": "A1"}, {"id": "U1", "area": "A0"}],
        [
            {"id": "B0", "unit": "U0", "cluster": "c"},
            {"id": "B1", "unit": "U0", "cluster": "c"},
            {"id": "B2", "unit": "U1"},
        ],
        [
            {"id": "m", "gender": "man", "preferred_areas": ["A1"]},
            {"id": "w", "gender": "woman", "preferred_areas": ["A1"]},
        ],
        areas=("A0", "A1"),
    )
    _, placed = solved(problem, backend)
    assert set(placed) == {"m", "w"}
    assert placed["m"] != placed["w"]


@pytest.mark.parametrize("backend", EXACT)
@pytest.mark.parametrize("flagged_gender", ["man", "woman"])
def test_risk_to_women_never_shares_a_unit_with_a_woman(backend: str, flagged_gender: str) -> None:
    problem = make_problem(
        [{"id": "U0", "area": "A1"}, {"id": "U1"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U0"}, {"id": "B2", "unit": "U1"}],
        [
            {
                "id": "flagged",
                "gender": flagged_gender,
                "flags": ["risk_to_women"],
                "preferred_areas": ["A1"],
            },
            {"id": "w", "gender": "woman", "preferred_areas": ["A1"]},
        ],
        areas=("A0", "A1"),
    )
    _, placed = solved(problem, backend)
    assert set(placed) == {"flagged", "w"}
    assert placed["flagged"] != placed["w"]


@pytest.mark.parametrize("backend", EXACT)
def test_high_risk_room_per_unit(backend: str) -> None:
    problem = make_problem(
        [{"id": "U0", "area": "A1", "max_high_risk_residents": 1}, {"id": "U1"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U0"}, {"id": "B2", "unit": "U1"}],
        [{"id": f"h{i}", "risk": "high", "preferred_areas": ["A1"]} for i in range(2)],
        areas=("A0", "A1"),
    )
    _, placed = solved(problem, backend)
    assert sorted(placed.values()) == ["U0", "U1"]


@pytest.mark.parametrize("backend", EXACT)
def test_support_hours_room_per_unit(backend: str) -> None:
    problem = make_problem(
        [{"id": "U0", "area": "A1", "support_hours_capacity": 5}, {"id": "U1"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U0"}, {"id": "B2", "unit": "U1"}],
        [{"id": f"s{i}", "support_hours": 3, "preferred_areas": ["A1"]} for i in range(2)],
        areas=("A0", "A1"),
    )
    _, placed = solved(problem, backend)
    assert sorted(placed.values()) == ["U0", "U1"]


@pytest.mark.parametrize("backend", EXACT)
def test_team_caseloads_and_fit(backend: str) -> None:
    # One visiting unit, two teams with room for one each: the Housing First referral needs
    # the intensive team, the one who wants a female worker needs the navigator with one.
    problem = make_problem(
        [{"id": "U0", "staffing": "visiting"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U0"}, {"id": "B2", "unit": "U0"}],
        [
            {"id": "hf", "pathway": "housing_first"},
            {"id": "fw", "wants_female_worker": True},
            {"id": "third", "priority": 1},
        ],
        teams=[
            {"id": "T_int", "kind": "intensive", "area": "A0", "caseload_capacity": 1},
            {
                "id": "T_nav",
                "kind": "navigator",
                "area": "A0",
                "caseload_capacity": 1,
                "female_workers": 1,
            },
        ],
    )
    solution, placed = solved(problem, backend)
    teams = {a.referral: a.support_team for a in solution.assignments}
    assert teams == {"hf": "T_int", "fw": "T_nav"}
    assert solution.unplaced[0].referral == "third"
    assert any("caseloads" in reason for reason in solution.unplaced[0].reasons)


@pytest.mark.parametrize("backend", EXACT)
def test_keep_apart_never_in_the_same_unit(backend: str) -> None:
    problem = make_problem(
        [{"id": "U0", "area": "A1"}, {"id": "U1"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U0"}, {"id": "B2", "unit": "U1"}],
        [
            {"id": "a", "keep_apart": ["b"], "preferred_areas": ["A1"]},
            {"id": "b", "preferred_areas": ["A1"]},
        ],
        areas=("A0", "A1"),
    )
    _, placed = solved(problem, backend)
    assert set(placed) == {"a", "b"}
    assert placed["a"] != placed["b"]


@pytest.mark.parametrize("backend", EXACT)
def test_da_victim_and_perpetrator_never_in_the_same_area(backend: str) -> None:
    problem = make_problem(
        [{"id": "U0", "area": "A0"}, {"id": "U1", "area": "A0"}, {"id": "U2", "area": "A1"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U1"}, {"id": "B2", "unit": "U2"}],
        [
            {"id": "v", "flags": ["da_victim"], "gender": "woman", "keep_apart": ["p"],
             "preferred_areas": ["A0"]},
            {"id": "p", "flags": ["da_perpetrator"], "preferred_areas": ["A0"]},
        ],
        areas=("A0", "A1"),
    )  # fmt: skip
    _, placed = solved(problem, backend)
    area = {"U0": "A0", "U1": "A0", "U2": "A1"}
    assert set(placed) == {"v", "p"}
    assert area[placed["v"]] != area[placed["p"]]


@pytest.mark.parametrize("backend", EXACT)
def test_keep_together_moves_into_one_unit(backend: str) -> None:
    # The preferred unit has one bed-space: the couple goes where both fit.
    problem = make_problem(
        [{"id": "U0", "area": "A1"}, {"id": "U1"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U1"}, {"id": "B2", "unit": "U1"}],
        [
            {"id": "x", "keep_together": ["y"], "preferred_areas": ["A1"]},
            {"id": "y", "preferred_areas": ["A1"]},
        ],
        areas=("A0", "A1"),
    )
    _, placed = solved(problem, backend)
    assert placed == {"x": "U1", "y": "U1"}


@pytest.mark.parametrize("backend", EXACT)
def test_keep_together_or_neither(backend: str) -> None:
    problem = make_problem(
        [{"id": "U0"}, {"id": "U1"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U1"}],
        [{"id": "x", "keep_together": ["y"]}, {"id": "y"}],
    )
    solution, placed = solved(problem, backend)
    assert placed == {}
    assert all(any("together" in r for r in u.reasons) for u in solution.unplaced)


@pytest.mark.parametrize("backend", EXACT)
def test_women_only_reserve_held_for_priority_5_da_victims(backend: str) -> None:
    problem = make_problem(
        [
            {"id": "W", "kind": "women_only", "gender_policy": "women_only", "area": "A1"},
            {"id": "M"},
        ],
        [{"id": "B0", "unit": "W"}, {"id": "B1", "unit": "W"}, {"id": "B2", "unit": "M"}],
        [
            {"id": f"w{i}", "gender": "woman", "priority": 4, "preferred_areas": ["A1"]}
            for i in range(2)
        ]
        + [{"id": "dv", "gender": "woman", "priority": 5, "flags": ["da_victim"]}],
        areas=("A0", "A1"),
        reserve=1,
    )
    _, placed = solved(problem, backend)
    assert placed["dv"] == "W"
    assert sorted(placed[w] for w in ("w0", "w1")) == ["M", "W"]


@pytest.mark.parametrize("backend", ["cpsat", "pulp", "greedy"])
def test_nobody_placeable_is_a_result_with_reasons(backend: str) -> None:
    problem = make_problem(
        [{"id": "U0", "gender_policy": "men_only"}, {"id": "U1", "gender_policy": "men_only"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U1"}],
        [{"id": "w", "gender": "woman"}],
    )
    solution, placed = solved(problem, backend)
    assert placed == {}
    assert solution.status in ("optimal", "feasible")
    [reason] = solution.unplaced[0].reasons
    assert reason.startswith("no bed-space passes the hard rules")
    assert "2 units (unit is men-only)" in reason
