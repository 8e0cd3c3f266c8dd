"""The ranking's vectorised counts agree with counting one by one, and what a placement costs
others still matches making it on portfolios with many people competing for one unit."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from constraints import BEDSPACE_RULES
from fixtures import STRESS_VARIANTS, generate
from matcher.model import Problem
from matcher.ranking import build_context
from matcher.ranking.exclusions import bed_rule_counts, bit_counts
from tests.matcher.test_ranking_cost import costs_match_making_the_placements
from tests.strategies import problems


@settings(max_examples=50)
@given(
    words=hnp.arrays(
        dtype=st.sampled_from([np.dtype(np.uint32), np.dtype(">u4"), np.dtype(np.uint8)]),
        shape=st.integers(0, 40),
    ),
    n_bits=st.integers(1, 32),
)
def test_bit_counts_count_each_bit_over_the_words(words: np.ndarray, n_bits: int) -> None:
    n_bits = min(n_bits, 8 * words.dtype.itemsize)
    expected = [sum(1 for w in words.tolist() if w >> j & 1) for j in range(n_bits)]
    assert bit_counts(words, n_bits).tolist() == expected


@settings(max_examples=30)
@given(problem=problems(max_referrals=5, max_beds=10, max_units=4))
def test_bed_rule_counts_count_each_units_failing_bed_spaces(problem: Problem) -> None:
    context = build_context(problem)
    bed_unit = context.tables.beds.unit
    for r in range(len(problem.referrals)):
        counts = bed_rule_counts(context, r)
        for j, _rule in enumerate(BEDSPACE_RULES):
            for u in range(len(problem.units)):
                failing = [
                    b
                    for b in np.flatnonzero(bed_unit == u).tolist()
                    if context.bed_failures[r, b] >> j & 1
                ]
                assert counts[j][u] == len(failing)


@pytest.mark.parametrize("stress", STRESS_VARIANTS)
def test_cost_to_others_matches_making_the_placement_with_many_waiting(
    stress: str | None,
) -> None:
    """More people than bed-spaces, so many share a best unit and several lose by one
    placement: who is costed must not depend on how the candidates are narrowed down."""
    problem = generate(11, 45, 20, stress=stress)
    named_any = costs_match_making_the_placements(problem, problem.referrals[::3], top=3)
    assert named_any, "no placement cost anyone anything: the instance tests nothing"
