"""Cuts on how many of a unit's candidates fit at once: the count is exact, no cut ever
removes an allocation the rules allow, and they take off the fractions of people the LP
puts in full units."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.generator import generate
from matcher.backends import mip_prover
from matcher.backends.classes import build_instance
from matcher.backends.greedy import greedy_placements
from matcher.backends.reduced_model import build_model, encode
from matcher.backends.submodel import SparseModel
from matcher.backends.unit_cuts import UnitRooms, tighten
from matcher.model import Problem
from matcher.solve import solve
from tests.matcher.helpers import band_stages, three_units_of_seven_hours
from tests.matcher.tiny import small_problems

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


def rooms_of_one_unit(
    hours: list[int], high_risk: list[bool], hours_room: int, high_risk_room: int, beds: int
) -> UnitRooms:
    n = len(hours)
    return UnitRooms(
        unit=np.zeros(n, dtype=np.int64),
        hours=np.array(hours, dtype=np.int64),
        high_risk=np.array(high_risk, dtype=bool),
        hours_room=np.array([hours_room]),
        high_risk_room=np.array([high_risk_room]),
        beds=np.array([beds]),
    )


@settings(max_examples=200, deadline=None)
@given(
    people=st.lists(st.tuples(st.integers(0, 12), st.booleans()), min_size=1, max_size=8),
    hours_room=st.integers(0, 40),
    high_risk_room=st.integers(0, 4),
    beds=st.integers(0, 8),
)
def test_the_count_that_fits_is_the_largest_set_every_room_allows(
    people: list[tuple[int, bool]], hours_room: int, high_risk_room: int, beds: int
) -> None:
    hours = [h for h, _ in people]
    high = [r for _, r in people]
    rooms = rooms_of_one_unit(hours, high, hours_room, high_risk_room, beds)
    brute = max(
        size
        for size in range(len(people) + 1)
        for chosen in combinations(range(len(people)), size)
        if sum(hours[i] for i in chosen) <= hours_room
        and sum(high[i] for i in chosen) <= high_risk_room
        and size <= beds
    )
    assert rooms.most_that_fit(0, np.arange(len(people))) == brute


def three_units_of_seven_hours_with_rooms() -> tuple[SparseModel, UnitRooms]:
    """`three_units_of_seven_hours`, with the units' rooms: 7 hours, room for anyone."""
    model, unit = three_units_of_seven_hours()
    rooms = UnitRooms(
        unit=unit,
        hours=np.full(27, 3),
        high_risk=np.zeros(27, dtype=bool),
        hours_room=np.full(3, 7),
        high_risk_room=np.full(3, 9),
        beds=np.full(3, 9),
    )
    return model, rooms


@pytest.mark.parametrize("priced", [False, True])
def test_the_cuts_take_off_the_third_of_a_person_the_lp_puts_in_each_unit(priced: bool) -> None:
    model, rooms = three_units_of_seven_hours_with_rooms()
    objective = np.ones(27)
    lp = mip_prover.relax(model, objective, 10.0)
    assert lp.value is not None and lp.values is not None
    assert lp.value == pytest.approx(7.0)
    # Six people, two to a unit, are a feasible point to price from.
    start = np.zeros(27, dtype=bool)
    start[[0, 3, 7, 10, 14, 17]] = True
    out = tighten(model, objective, rooms, lp.values, start if priced else None, lp.value, 10.0)
    assert out.integer_bound == 6  # the integer optimum, without branching
    assert out.rounds >= 1 and out.prices is not None
    assert out.model.n_rows > model.n_rows


def test_the_cuts_stop_once_the_bound_meets_the_count_found() -> None:
    model, rooms = three_units_of_seven_hours_with_rooms()
    objective = np.ones(27)
    lp = mip_prover.relax(model, objective, 10.0)
    assert lp.value is not None and lp.values is not None
    out = tighten(model, objective, rooms, lp.values, None, lp.value, 10.0, enough=7)
    assert out.rounds == 0 and out.integer_bound == 7


@settings(max_examples=25, deadline=None)
@given(
    problem=small_problems(),
    seed=st.integers(0, 2**16),
)
def test_no_cut_removes_a_stage_optimum_and_the_bound_stays_above_it(
    problem: Problem, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    for at in band_stages(problem):
        rooms = UnitRooms.of(at.inst, at.sub.free)
        model, objective = at.sub.model, at.objective[at.sub.free].astype(float)
        lp = mip_prover.relax(model, objective, 10.0)
        assert lp.value is not None and lp.values is not None
        for point in (lp.values, rng.uniform(0, 1, model.n_vars)):
            for row in rooms.separate(point):
                assert at.values[row.idx].sum() <= row.hi
        out = tighten(model, objective, rooms, lp.values, None, lp.value, 10.0)
        assert at.optimum <= out.integer_bound <= int(np.floor(lp.value + 1e-6))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(1, 10_000), point_seed=st.integers(0, 2**16))
def test_greedy_allocations_of_varied_instances_satisfy_every_cut(
    seed: int, point_seed: int
) -> None:
    inst = build_instance(generate(seed, 60, 120, varied=True))
    layout = build_model(inst)
    values = encode(inst, layout, greedy_placements(inst))
    rooms = UnitRooms.of(inst, np.arange(layout.model.n_vars))
    point = np.random.default_rng(point_seed).uniform(0, 1, layout.model.n_vars)
    cuts = rooms.separate(point)
    assert cuts  # random points overfill some unit
    for row in cuts:
        assert values[row.idx].sum() <= row.hi


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(1, 10_000))
def test_the_proven_band_counts_of_varied_instances_are_the_same_with_and_without_cuts(
    seed: int,
) -> None:
    problem = generate(seed, 60, 120, varied=True)
    with_cuts = solve(problem, "cpsat", 20, num_workers=2)
    without = solve(problem, "cpsat", 20, num_workers=2, unit_cuts=False)
    for solution in (with_cuts, without):
        bounds = (solution.model_extra or {})["placed_bound_by_priority"]
        assert bounds == solution.placed_by_priority
    assert with_cuts.placed_by_priority == without.placed_by_priority


def test_a_band_the_lp_leaves_open_is_proven_by_cuts_where_no_unit_is_solved_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matcher.backends import block_bound
    from tests.matcher.test_block_bound import ONLY_BOUNDS

    # No integer solver for units solved whole: only the LP and its cuts bound the band.
    monkeypatch.setattr(block_bound, "_integer_solver", lambda: None)
    problem = generate(7, 400, 800)
    with_cuts = solve(problem, "cpsat", 20, **ONLY_BOUNDS)
    lp_only = solve(problem, "cpsat", 20, unit_cuts=False, **ONLY_BOUNDS)
    assert with_cuts.placed_by_priority == lp_only.placed_by_priority
    assert (lp_only.model_extra or {})["placed_bound_by_priority"]["1"] == 77  # the LP's 77.x
    assert (with_cuts.model_extra or {})["placed_bound_by_priority"]["1"] == 76
    band_1 = (with_cuts.model_extra or {})["detail"]["stages"][-2]
    assert band_1["stage"] == "band_1" and band_1["unit_cuts"]["rounds"] >= 1
