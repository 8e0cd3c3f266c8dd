"""When no rule coupling people can bind, one min-cost flow is the optimum: the same band
counts and soft points the staged backends prove, a maximum matching where all are priority 1,
and never used when a coupled rule could bind."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.solves import maximum_matching
from constraints.checker import check
from fixtures.generator import generate
from matcher import solve as solving
from matcher.backends.classes import build_instance
from matcher.backends.network import binding_rules, network_optimum
from matcher.model import Problem

NETWORK = "network flow (no rule coupling people can bind)"


def _method(solution: object) -> object:
    return ((getattr(solution, "model_extra", None) or {}).get("detail") or {}).get("method")


def _with_bands(problem: Problem, seed: int) -> Problem:
    """The slack instance with its referrals spread over the five bands again."""
    rng = random.Random(seed)
    referrals = [r.model_copy(update={"priority": rng.randint(1, 5)}) for r in problem.referrals]
    return problem.model_copy(update={"referrals": referrals})


def _staged(problem: Problem) -> object:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(solving, "network_optimum", lambda inst: None)
        return solving.solve(problem, "cpsat", 30)


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), banded=st.booleans())
def test_the_flow_is_the_staged_optimum_on_slack_instances(seed: int, banded: bool) -> None:
    problem = generate(seed, 40, 60, varied=True, slack_rules=True)
    if banded:
        problem = _with_bands(problem, seed)
    by_flow = solving.solve(problem, "cpsat", 30)
    assert _method(by_flow) == NETWORK
    assert by_flow.status == "optimal" and check(problem, by_flow) == []
    staged = _staged(problem)
    assert staged.status == "optimal"  # type: ignore[attr-defined]
    assert by_flow.placed_by_priority == staged.placed_by_priority  # type: ignore[attr-defined]
    assert by_flow.objective == staged.objective  # type: ignore[attr-defined]
    assert len(by_flow.assignments) == maximum_matching(problem)


def test_pulp_takes_the_same_flow() -> None:
    problem = generate(7, 40, 60, varied=True, slack_rules=True)
    cpsat, pulp = solving.solve(problem, "cpsat", 30), solving.solve(problem, "pulp", 30)
    assert _method(pulp) == NETWORK and pulp.status == "optimal"
    assert (pulp.placed_by_priority, pulp.objective) == (cpsat.placed_by_priority, cpsat.objective)


@pytest.mark.parametrize("seed", range(5))
def test_a_coupled_rule_that_could_bind_keeps_the_staged_backends(seed: int) -> None:
    """The generator's ordinary instances have couples, keep-apart pairs, tight rooms and
    shared clusters: the flow is never taken for the optimum there."""
    inst = build_instance(generate(seed, 60, 100))
    assert binding_rules(inst)
    assert network_optimum(inst) is None


def test_one_binding_rule_is_enough_to_keep_the_staged_backends() -> None:
    problem = generate(3, 40, 60, varied=True, slack_rules=True)
    assert binding_rules(build_instance(problem)) == []
    units = [u.model_copy(update={"max_high_risk_residents": 0}) for u in problem.units]
    tight = problem.model_copy(update={"units": units})
    inst = build_instance(tight)
    if inst.coupling.is_high_risk[inst.pair_ref].any():
        assert "high-risk places" in binding_rules(inst)
    first, second = problem.referrals[0], problem.referrals[1]
    apart = [
        first.model_copy(update={"keep_apart": [second.id]}),
        second.model_copy(update={"keep_apart": [first.id]}),
        *problem.referrals[2:],
    ]
    assert "keep apart" in binding_rules(
        build_instance(problem.model_copy(update={"referrals": apart}))
    )


def test_a_women_only_reserve_that_holds_someone_back_keeps_the_staged_backends() -> None:
    problem = generate(5, 60, 90, varied=True, slack_rules=True)
    assert "women-only reserve" not in binding_rules(build_instance(problem))
    inst = build_instance(
        problem.model_copy(
            update={"policy": problem.policy.model_copy(update={"women_only_reserve": 2})}
        )
    )
    units = inst.tables.units
    takers = {
        int(r)
        for r, u in zip(inst.pair_ref, inst.pair_unit, strict=True)
        if units.women_only[u] and not inst.coupling.reserve_exempt[r]
    }
    assert len(takers) > 2, "the instance must have women who could use the reserve"
    assert "women-only reserve" in binding_rules(inst)
