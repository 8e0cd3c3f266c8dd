"""The (referral, unit) → pair lookup answers as a dict of the pairs would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.backends.classes import PairIndex, build_instance
from matcher.model import Problem
from tests.strategies import problems


@settings(max_examples=50, deadline=None)
@given(pairs=st.sets(st.tuples(st.integers(0, 30), st.integers(0, 20)), max_size=60))
def test_every_pair_is_found_and_nothing_else(pairs: set[tuple[int, int]]) -> None:
    listed = sorted(pairs, key=lambda ru: (ru[1], ru[0]))
    refs = np.array([r for r, _ in listed], dtype=np.int64)
    units = np.array([u for _, u in listed], dtype=np.int64)
    index = PairIndex.of(refs, units)
    expected = {ru: p for p, ru in enumerate(listed)}
    for r in range(-1, 33):
        for u in range(-1, 22):
            assert index.get((r, u)) == expected.get((r, u))


@settings(max_examples=10, deadline=None)
@given(problem=problems(max_referrals=10, max_beds=12))
def test_an_instance_indexes_each_of_its_pairs(problem: Problem) -> None:
    inst = build_instance(problem)
    for p, (r, u) in enumerate(zip(inst.pair_ref, inst.pair_unit, strict=True)):
        assert inst.pair_index.get((int(r), int(u))) == p
