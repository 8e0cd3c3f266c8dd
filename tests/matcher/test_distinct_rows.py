"""Grouping referrals by their row of allowed classes (or teams) as `np.unique(axis=0)` does."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from matcher.backends.classes import distinct_rows


@settings(max_examples=200, deadline=None)
@given(
    keys=st.integers(1, 40).flatmap(
        lambda n: st.integers(1, 20).flatmap(
            lambda m: arrays(np.uint8, (n, m), elements=st.sampled_from([0, 1, 7, 128, 255]))
        )
    )
)
def test_rows_are_grouped_and_ordered_as_numpy_unique_does(keys: np.ndarray) -> None:
    expected, first, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    got_first, got_inverse = distinct_rows(keys)
    assert np.array_equal(got_first, first)
    assert np.array_equal(got_inverse, inverse.reshape(-1))
    assert np.array_equal(keys[got_first], expected)
