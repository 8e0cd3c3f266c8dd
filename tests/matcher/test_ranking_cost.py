"""What a choice costs others, checked against the plain way to find out: make the placement
(the referral becomes a resident of that bed-space, its team takes one more case), rebuild
eligibility from scratch, and see who of equal or higher priority lost their only eligible
bed-space or every bed-space in their best unit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints.eligibility import eligibility
from constraints.reserve import reserve_exempt
from fixtures import STRESS_VARIANTS, generate
from matcher.model import GenderPolicy, Problem, Referral, parse_problem
from matcher.ranking import RankedPlacement, RankingContext, build_context, rank
from tests.strategies import problems


def _in_a_couple(problem: Problem, referral_id: str) -> bool:
    return any(
        r.id == referral_id and r.keep_together or referral_id in r.keep_together
        for r in problem.referrals
    )


def _after(problem: Problem, referral_id: str, placement: RankedPlacement) -> Problem:
    """The problem once this placement is made: the referral lives in the bed-space."""
    data: dict[str, Any] = problem.model_dump(mode="json")
    person = next(r for r in data["referrals"] if r["id"] == referral_id)
    data["referrals"] = [r for r in data["referrals"] if r["id"] != referral_id]
    data["residents"].append(
        {
            "id": referral_id,
            "bedspace": placement.bedspace,
            "gender": person["gender"],
            "age": person["age"],
            "risk": person["risk"],
            "flags": person["flags"],
            "support_hours": person["support_hours"],
            "arrived": data["as_of"],
        }
    )
    # Keep-apart binds both people, whoever asked for it.
    for other in data["referrals"]:
        if other["id"] in person["keep_apart"] and referral_id not in other["keep_apart"]:
            other["keep_apart"].append(referral_id)
    for team in data["support_teams"]:
        if team["id"] == placement.support_team:
            team["current_caseload"] += 1
    # An exempt DA victim's women-only bed-space does not come out of the others' share.
    unit = next(u for u in problem.units if u.id == placement.unit)
    referral = next(r for r in problem.referrals if r.id == referral_id)
    if unit.gender_policy is GenderPolicy.women_only and reserve_exempt(referral):
        reserve = data["policy"]["women_only_reserve"]
        data["policy"]["women_only_reserve"] = max(0, reserve - 1)
    return parse_problem(data)


def _expected_losers(
    context: RankingContext, problem: Problem, referral_id: str, after: Problem
) -> set[tuple[str, str]]:
    before_allowed = context.eligibility.allowed
    after_allowed = eligibility(after).allowed
    after_index = {r.id: i for i, r in enumerate(after.referrals)}
    unit_of = np.array([context.tables.units.index[b.unit] for b in problem.bedspaces])
    priority = next(r.priority for r in problem.referrals if r.id == referral_id)
    losers = set()
    for i, other in enumerate(problem.referrals):
        if other.id == referral_id or other.priority < priority or not before_allowed[i].any():
            continue
        left = after_allowed[after_index[other.id]]
        if not left.any():
            losers.add((other.id, "only"))
            continue
        best = context.best_unit[i]
        if not left[unit_of == best].any():
            losers.add((other.id, "best"))
    return losers


@settings(max_examples=30)
@given(problem=problems(max_referrals=6, max_beds=8, max_units=4), data=st.data())
def test_cost_to_others_matches_making_the_placement(problem: Problem, data: st.DataObject) -> None:
    referral_id = data.draw(st.sampled_from([r.id for r in problem.referrals]))
    if _in_a_couple(problem, referral_id):
        return  # couples move as one; their cost is the group's, checked elsewhere
    context = build_context(problem)
    result = rank(context, referral_id, cost_top=100)
    for placement in result.ranked:
        assert placement.cost_to_others is not None
        named = {(a.referral, a.loses) for a in placement.cost_to_others.affected}
        after = _after(problem, referral_id, placement)
        assert named == _expected_losers(context, problem, referral_id, after), placement


@pytest.mark.parametrize("stress", STRESS_VARIANTS)
def test_cost_to_others_matches_making_the_placement_on_generated_portfolios(
    stress: str | None,
) -> None:
    """Generated portfolios have real contention (scarce bed-spaces, high-risk limits, team
    caseloads, the reserve), so people do lose their only or best option here."""
    problem = generate(7, 30, 24, stress=stress)
    named_any = costs_match_making_the_placements(problem, problem.referrals[:10], top=4)
    assert named_any, "no placement cost anyone anything: the instance tests nothing"


def costs_match_making_the_placements(
    problem: Problem, referrals: Sequence[Referral], top: int
) -> int:
    """Asserts, for each of the `top` placements of each referral not in a couple, that the
    people its cost to others names are those making it leaves without their only or best
    option; how many placements named anyone."""
    context = build_context(problem)
    named_any = 0
    for referral in referrals:
        if _in_a_couple(problem, referral.id):
            continue
        for placement in rank(context, referral.id, top=top).ranked:
            assert placement.cost_to_others is not None
            named = {(a.referral, a.loses) for a in placement.cost_to_others.affected}
            after = _after(problem, referral.id, placement)
            assert named == _expected_losers(context, problem, referral.id, after), placement
            named_any += bool(named)
    return named_any
