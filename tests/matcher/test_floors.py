"""Cohort floors (`policy.floors`): every backend honours them, the checker enforces them, a
floor out of reach is reported with the best possible, and a floor already met costs nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.matcher.test_brute_force as brute
from api.cli import main
from constraints.checker import check
from constraints.floors import floor_outcome
from matcher.errors import ProblemInvalid
from matcher.model import FLOOR_COHORTS, CohortFloor, Problem, Solution, parse_problem
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value
from tests.matcher.tiny import placeable_problems
from tests.strategies import problems

BACKENDS = ["cpsat", "pulp", "greedy"]


def with_floor(problem: Problem, cohort: str, at_least: str | float) -> Problem:
    floors = [CohortFloor(cohort=cohort, at_least=at_least)]
    return problem.model_copy(
        update={"policy": problem.policy.model_copy(update={"floors": floors})}
    )


def options(backend: str) -> dict[str, Any]:
    return {"num_workers": 2} if backend == "cpsat" else {}


floors = st.tuples(
    st.sampled_from(FLOOR_COHORTS),
    st.one_of(st.just("list_rate"), st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])),
)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=20, deadline=None)
@given(
    problem=st.one_of(problems(max_referrals=8, max_beds=10), placeable_problems()),
    floor=floors,
    time_limit=st.sampled_from([0.0, 5.0]),
)
def test_every_backend_meets_the_floor_or_reports_it_out_of_reach(
    backend: str, problem: Problem, floor: tuple[str, str | float], time_limit: float
) -> None:
    floored = with_floor(problem, *floor)
    solution = solve(floored, backend, time_limit, **options(backend))
    assert check(floored, solution) == []
    (report,) = solution.floors  # type: ignore[attr-defined]
    outcome = floor_outcome(
        floored, floored.policy.floors[0], {a.referral for a in solution.assignments}
    )
    if report["reachable"] is True:
        assert outcome.met
    else:
        assert floor[1] != "list_rate"  # placing nobody always meets the list's rate
        assert not outcome.met and outcome.placed >= report["best_placed"]
    if report["reachable"] is False:
        assert report["best_bound"] < outcome.required  # type: ignore[operator]


@settings(max_examples=25, deadline=None)
@given(
    problem=placeable_problems(max_referrals=6, max_beds=6), cohort=st.sampled_from(FLOOR_COHORTS)
)
def test_the_optimum_with_a_list_rate_floor_equals_brute_force(
    problem: Problem, cohort: str
) -> None:
    floored = with_floor(problem, cohort, "list_rate")
    solution = solve(floored, "cpsat", 20, num_workers=2)
    assert solution.status == "optimal"
    # Partial allocations may break a floor that later placements repair.
    with patch.object(brute, "REPAIRABLE", brute.REPAIRABLE | {"cohort_floor"}):
        best = brute.brute_force_best(floored)
    assert lexicographic_value(floored, solution) == best


@settings(max_examples=20, deadline=None)
@given(problem=placeable_problems(max_referrals=7, max_beds=8), floor=floors)
def test_a_floor_the_free_solution_meets_costs_nothing(
    problem: Problem, floor: tuple[str, str | float]
) -> None:
    free = solve(problem, "cpsat", 20, num_workers=2)
    floored = with_floor(problem, *floor)
    placed = {a.referral for a in free.assignments}
    if not floor_outcome(floored, floored.policy.floors[0], placed).met:
        return
    priced = solve(floored, "cpsat", 20, num_workers=2)
    assert priced.status == free.status == "optimal"
    assert priced.placed_by_priority == free.placed_by_priority
    assert priced.objective == free.objective


def two_beds_two_bands() -> Problem:
    """Two men of band 5 and two women of band 1 for two bed-spaces of one mixed unit."""
    people = [("M1", "man", 5), ("M2", "man", 5), ("W1", "woman", 1), ("W2", "woman", 1)]
    return parse_problem(
        {
            "as_of": "2026-11-23",
            "areas": [{"id": "A"}],
            "units": [{"id": "U", "area": "A", "kind": "adult_mixed"}],
            "bedspaces": [{"id": "B1", "unit": "U"}, {"id": "B2", "unit": "U"}],
            "referrals": [
                {"id": i, "referred": "2026-11-01", "age": 30, "gender": g, "priority": p}
                for i, g, p in people
            ],
        }
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_list_rate_floor_bites_in_every_backend(backend: str) -> None:
    problem = two_beds_two_bands()
    free = solve(problem, backend, 10, **options(backend))
    assert free.placed_by_priority["5"] == 2  # the men first, the women's rate 0 of 50%
    floored = with_floor(problem, "women", "list_rate")
    solution = solve(floored, backend, 10, **options(backend))
    placed = {a.referral for a in solution.assignments}
    assert len(placed & {"W1", "W2"}) * 4 >= len(placed) * 2
    if backend != "greedy":
        # The best the floor allows: one man of band 5 and one woman.
        assert solution.status == "optimal"
        assert solution.placed_by_priority == {"5": 1, "4": 0, "3": 0, "2": 0, "1": 1}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_floor_out_of_reach_is_reported_with_the_best_possible(backend: str) -> None:
    problem = two_beds_two_bands()
    # Only one bed-space left for anyone: at most one of the two women (50%).
    problem = problem.model_copy(update={"bedspaces": problem.bedspaces[:1]})
    floored = with_floor(problem, "women", 1.0)
    solution = solve(floored, backend, 10, **options(backend))
    (report,) = solution.floors  # type: ignore[attr-defined]
    assert report["reachable"] is False
    assert report["best_placed"] == 1 and report["best_bound"] == 1
    assert report["required"] == 2
    assert "No allocation can meet it: at most 1 of 2" in report["sentence"]
    assert {a.referral for a in solution.assignments} <= {"W1", "W2"}
    assert len(solution.assignments) == 1
    assert check(floored, solution) == []


def test_the_checker_names_the_cohort_and_both_rates() -> None:
    floored = with_floor(two_beds_two_bands(), "women", "list_rate")
    men_only = Solution.model_validate(
        {
            "assignments": [
                {"referral": "M1", "bedspace": "B1"},
                {"referral": "M2", "bedspace": "B2"},
            ]
        }
    )
    (violation,) = check(floored, men_only)
    assert violation.rule == "cohort_floor"
    assert "Women: 0 of 2 placed (0%)" in violation.message
    assert "the list's rate 50% (2 of 4)" in violation.message
    fair = Solution.model_validate(
        {
            "assignments": [
                {"referral": "M1", "bedspace": "B1"},
                {"referral": "W1", "bedspace": "B2"},
            ]
        }
    )
    assert check(floored, fair) == []


def test_the_checker_holds_a_floor_out_of_reach_to_the_best_reported() -> None:
    floored = with_floor(two_beds_two_bands(), "women", 1.0)
    one_woman = [{"referral": "W1", "bedspace": "B1"}]
    claim = {"cohort": "women", "reachable": False, "best_placed": 1}
    assert check(floored, Solution.model_validate({"assignments": one_woman})) != []
    accepted = Solution.model_validate({"assignments": one_woman, "floors": [claim]})
    assert check(floored, accepted) == []
    nobody = Solution.model_validate({"assignments": [], "floors": [claim]})
    assert [v.rule for v in check(floored, nobody)] == ["cohort_floor"]


@pytest.mark.parametrize(
    ("floor", "field", "message"),
    [
        ({"cohort": "pensioners", "at_least": 0.5}, "cohort", "unknown cohort 'pensioners'"),
        ({"cohort": "women", "at_least": 1.5}, "at_least", "from 0 to 1"),
        ({"cohort": "women", "at_least": -0.1}, "at_least", "from 0 to 1"),
        ({"cohort": "women", "at_least": "half"}, "at_least", "'list_rate' or a share"),
    ],
)
def test_a_bad_floor_is_refused_naming_the_field(
    floor: dict[str, Any],
    field: str,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = {"as_of": "2026-11-23", "policy": {"floors": [floor]}}
    with pytest.raises(ProblemInvalid) as refused:
        parse_problem(document)
    (issue,) = refused.value.issues
    assert issue.loc == ("policy", "floors", 0, field)
    assert message in issue.msg
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(document))
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"policy.floors[0].{field}" in err and "Traceback" not in err


def test_two_floors_for_one_cohort_are_refused() -> None:
    floors = [{"cohort": "women", "at_least": 0.5}, {"cohort": "women", "at_least": "list_rate"}]
    with pytest.raises(ProblemInvalid, match="more than one floor"):
        parse_problem({"as_of": "2026-11-23", "policy": {"floors": floors}})


def test_a_document_without_floors_is_written_as_before() -> None:
    problem = parse_problem({"as_of": "2026-11-23"})
    assert "floors" not in problem.model_dump(mode="json")["policy"]
