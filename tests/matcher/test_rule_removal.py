"""No consumer keeps a private copy of a rule: take any rule out of the registry and the
checker, the ranking and the solvers all allow what it forbade, at once."""

from __future__ import annotations

import pytest

from constraints import registry
from constraints.checker import check
from matcher.model import Problem
from matcher.ranking import build_context
from matcher.solve import solve
from tests.constraints.rule_scenarios import Scenario, scenarios

BACKENDS = ("cpsat", "pulp", "greedy")


def _places_everyone(problem: Problem, backend: str) -> bool:
    solution = solve(problem, backend, 10)
    assert check(problem, solution) == []
    placed = len(solution.assignments) + len(solution.support_placements)
    return placed == len(problem.referrals)


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s.id)
def test_without_the_rule_every_consumer_allows_what_it_forbade(
    scenario: Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    problem, forbidden = scenario.problem, scenario.forbidden_solution
    probe = scenario.ranking_allows

    assert check(problem, forbidden) != []
    assert probe is None or not probe(build_context(problem))
    if scenario.solver:
        assert not any(_places_everyone(problem, backend) for backend in BACKENDS)

    others = tuple(rule for rule in registry.HARD_RULES if rule is not scenario.rule)
    monkeypatch.setattr(registry, "HARD_RULES", others)

    assert check(problem, forbidden) == []
    assert probe is None or probe(build_context(problem))
    if scenario.solver:
        assert all(_places_everyone(problem, backend) for backend in BACKENDS)
