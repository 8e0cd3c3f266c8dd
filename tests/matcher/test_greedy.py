"""The greedy baseline: priority order, never a broken rule, never better than the optimum."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints.checker import check
from fixtures.generator import generate
from matcher.backends.classes import build_instance
from matcher.backends.greedy import PlacementState, greedy_placements
from matcher.model import Problem
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value
from tests.matcher.test_solve_coupling import make_problem
from tests.matcher.tiny import placeable_problems


@settings(max_examples=30, deadline=None)
@given(problem=placeable_problems())
def test_greedy_is_valid_and_never_beats_the_optimum(problem: Problem) -> None:
    greedy = solve(problem, "greedy")
    assert check(problem, greedy) == []
    optimum = solve(problem, "cpsat", 20, num_workers=2)
    assert lexicographic_value(problem, greedy) <= lexicographic_value(problem, optimum)


def test_greedy_takes_priority_then_waiting_time() -> None:
    problem = make_problem(
        [{"id": "U0"}],
        [{"id": "B0", "unit": "U0"}, {"id": "B1", "unit": "U0"}],
        [
            {"id": "urgent", "priority": 5, "referred": "2026-11-20"},
            {"id": "waited", "priority": 2, "referred": "2026-01-01"},
            {"id": "recent", "priority": 2, "referred": "2026-11-01"},
            {"id": "routine", "priority": 1, "referred": "2025-01-01"},
        ],
    )
    placed = {a.referral for a in solve(problem, "greedy").assignments}
    assert placed == {"urgent", "waited"}


def test_greedy_completion_moves_nobody() -> None:
    problem = generate(5, 120, 100)
    inst = build_instance(problem)
    full = greedy_placements(inst)
    start = full[: len(full) // 2]
    completed = greedy_placements(inst, start=start)
    assert set(start) <= set(completed)


@settings(max_examples=60, deadline=None)
@given(problem=placeable_problems(), keep=st.integers(0, 7))
def test_the_sieve_only_drops_places_a_rule_blocks(problem: Problem, keep: int) -> None:
    """`may_fit` leaves out only pairs every one of whose classes `blockers` refuses, so the
    greedy it speeds up places exactly as it did without it."""
    inst = build_instance(problem)
    state = PlacementState(inst)
    state.load(greedy_placements(inst)[:keep])
    for r, pairs in enumerate(inst.pairs_of_referral()):
        if r in state.placed or not pairs.size:
            continue
        for pair, fits in zip(pairs, state.may_fit(r, pairs), strict=True):
            classes = inst.groups[int(inst.pair_group[pair])].classes
            open_classes = [k for k in classes if not state.blockers(r, int(pair), k)]
            if not fits:
                assert open_classes == []
    assert np.all(state.unit_left >= 0)
