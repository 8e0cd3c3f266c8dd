"""Soft terms: integer points per (referral, unit), weights from the policy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from constraints.scores import DEFAULT_WEIGHTS, POINTS, _nearest_from_preferred, score
from constraints.tables import build_tables
from matcher.errors import ProblemInvalid
from matcher.model import Problem, parse_problem
from tests.strategies import problems


def _two_area_problem(weights: dict[str, float] | None = None) -> Problem:
    return parse_problem(
        {
            "as_of": "2026-11-23",
            "areas": [{"id": "A"}, {"id": "B"}, {"id": "C"}],
            "links": [{"a": "A", "b": "B", "minutes": 30}, {"a": "B", "b": "C", "minutes": 90}],
            "units": [
                {"id": "near", "area": "A", "kind": "adult_mixed", "offers": ["art"]},
                {"id": "mid", "area": "B", "kind": "adult_mixed", "pathway": "emergency"},
                {"id": "far", "area": "C", "kind": "adult_mixed"},
            ],
            "bedspaces": [{"id": "b1", "unit": "near"}],
            "referrals": [
                {
                    "id": "R1",
                    "referred": "2026-05-27",
                    "age": 30,
                    "gender": "man",
                    "preferred_areas": ["A"],
                    "strengths": ["art", "sport"],
                }
            ],
            "policy": {"weights": weights or {}},
        }
    )


def test_terms_reward_preferred_area_travel_strengths_and_pathway() -> None:
    scores = score(build_tables(_two_area_problem()))
    near, mid, far = (scores.pair_terms(0, u) for u in range(3))
    assert near["preferred_area"] == DEFAULT_WEIGHTS["preferred_area"] * POINTS
    assert mid["preferred_area"] == 0
    assert near["travel"] > mid["travel"] > far["travel"] == 0  # 0, 30 and 120 minutes away
    assert near["strengths"] == DEFAULT_WEIGHTS["strengths"] * POINTS / 2  # art of art, sport
    assert near["pathway_fit"] > 0 and mid["pathway_fit"] == 0
    assert near["waiting"] == mid["waiting"] > 0  # 180 days waited, whatever the unit
    assert scores.total()[0, 0] == sum(near.values())


def test_policy_weights_override_defaults_and_unknown_terms_are_refused() -> None:
    scores = score(build_tables(_two_area_problem({"preferred_area": 0})))
    assert scores.pair_terms(0, 0)["preferred_area"] == 0
    with pytest.raises(ProblemInvalid, match="policy.weights.distance"):
        score(build_tables(_two_area_problem({"distance": 1})))


@given(problems())
def test_points_are_non_negative_integers(problem: Problem) -> None:
    total = score(build_tables(problem)).total()
    assert total.dtype == np.int64
    assert (total >= 0).all()


@settings(max_examples=40, deadline=None)
@given(
    preferred=hnp.arrays(bool, st.tuples(st.integers(0, 12), st.integers(1, 6))),
    minutes=st.lists(st.floats(0, 200) | st.just(float("inf")), min_size=36, max_size=36),
)
def test_nearest_preferred_area_is_the_minimum_over_every_preferred_area(
    preferred: np.ndarray, minutes: list[float]
) -> None:
    areas = preferred.shape[1]
    grid = np.array(minutes[: areas * areas]).reshape(areas, areas)
    whole = np.where(preferred[:, :, None], grid[None, :, :], np.inf).min(axis=1)
    assert np.array_equal(_nearest_from_preferred(preferred, grid), whole)
