"""A batch allocation's equity figures equal a plain recount, cohort by cohort."""

from __future__ import annotations

import statistics

from hypothesis import given, settings

from constraints.cohorts import Cohort
from matcher.equity import equity
from matcher.model import Flag, Gender, Pathway, Problem, Referral, Risk
from matcher.solve import solve
from tests.strategies import problems

MAPPA = {Flag.mappa_1, Flag.mappa_2, Flag.mappa_3}


def in_cohort(r: Referral, cohort: str) -> bool:
    """Cohort membership written out plainly, apart from `constraints.cohorts`."""
    return {
        "all": True,
        Cohort.young_people: r.age <= 25,
        Cohort.under_18s: r.age < 18,
        Cohort.women: r.gender is Gender.woman,
        Cohort.da_victims: Flag.da_victim in r.flags,
        Cohort.high_risk: r.risk in (Risk.high, Risk.very_high) or bool(MAPPA & set(r.flags)),
        Cohort.care_leavers: Flag.care_leaver in r.flags,
        Cohort.households: r.household_size > 1,
        Cohort.housing_first: r.pathway is Pathway.housing_first,
    }[cohort]


@settings(max_examples=30, deadline=None)
@given(problems(max_referrals=10, max_beds=10))
def test_equity_figures_equal_a_plain_recount(problem: Problem) -> None:
    solution = solve(problem, "greedy", 5)
    placed = {a.referral for a in solution.assignments}
    rows = {row.cohort: row for row in equity(problem.referrals, placed, problem.as_of)}
    assert set(rows) == {"all", *(c.value for c in Cohort)}
    everyone = rows["all"]
    for name, row in rows.items():
        members = [r for r in problem.referrals if in_cohort(r, name)]
        assert row.waiting == len(members)
        assert row.placed == sum(r.id in placed for r in members)
        if not members:
            assert row.placement_rate is None and row.wait_p50_days is None
            continue
        assert row.placement_rate == row.placed / row.waiting
        waits = sorted((problem.as_of - r.referred).days for r in members)
        assert row.wait_p50_days in waits and row.wait_p90_days in waits
        assert row.wait_p50_days <= statistics.median_high(waits)
        if name != "all":
            assert everyone.placement_rate is not None
            assert row.rate_gap == row.placement_rate - everyone.placement_rate
    assert solution.model_extra is not None
    assert solution.model_extra["equity"] == [
        r.model_dump() for r in equity(problem.referrals, placed, problem.as_of)
    ]
