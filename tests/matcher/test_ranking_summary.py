"""The screen-sized ranking (`detail="summary"`) says the same as the full one, in fewer words."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures import generate
from matcher.model import Problem
from matcher.ranking import build_context, rank
from tests.strategies import problems


def _agree(problem: Problem, referral_id: str, top: int) -> None:
    context = build_context(problem)
    full = rank(context, referral_id, top=top)
    summary = rank(context, referral_id, top=top, detail="summary")

    assert summary.detail == "summary" and full.detail == "full"
    assert summary.excluded == []
    assert summary.excluded_units == full.excluded_units == len(full.excluded)
    expected = Counter(rule for unit in full.excluded for rule in unit["rules"])
    assert summary.excluded_by_rule == full.excluded_by_rule == dict(expected)
    assert list(summary.excluded_by_rule.values()) == sorted(expected.values(), reverse=True)
    assert summary.ranked == full.ranked
    shown_units = list(dict.fromkeys(p.unit for p in full.ranked))
    assert [u["unit"] for u in summary.units] == shown_units
    assert summary.units == full.units[: len(shown_units)]
    assert (summary.eligible_bedspaces, summary.eligible_units) == (
        full.eligible_bedspaces,
        full.eligible_units,
    )


@settings(max_examples=30)
@given(problem=problems(max_referrals=5, max_beds=8, max_units=4), data=st.data())
def test_summary_counts_every_exclusion_the_full_ranking_lists(
    problem: Problem, data: st.DataObject
) -> None:
    referral = data.draw(st.sampled_from([r.id for r in problem.referrals]))
    _agree(problem, referral, top=data.draw(st.integers(1, 4)))


def test_summary_agrees_on_a_generated_portfolio_with_couples() -> None:
    problem = generate(11, 60, 120)
    for referral in problem.referrals[:: max(1, len(problem.referrals) // 12)]:
        _agree(problem, referral.id, top=5)
    coupled = [r.id for r in problem.referrals if r.keep_together]
    for referral_id in coupled[:3]:
        _agree(problem, referral_id, top=3)
