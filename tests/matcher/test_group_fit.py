"""A keep-together group is closed in a unit whose rows it overfills, and only there."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.backends import mip_prover
from matcher.backends.classes import Instance
from matcher.backends.group_fit import unfit_group_pairs
from matcher.backends.linear import LinearModel
from matcher.backends.reduced_model import build_model
from matcher.backends.submodel import SparseModel
from matcher.model import Problem
from matcher.solve import build_instance
from tests.matcher.test_solve_coupling import make_problem
from tests.strategies import problems


def _couple_in_two_units(first_unit_beds: int) -> Problem:
    beds = [{"id": f"B0{i}", "unit": "U0"} for i in range(first_unit_beds)]
    beds += [{"id": "B10", "unit": "U1"}, {"id": "B11", "unit": "U1"}]
    return make_problem(
        [{"id": "U0"}, {"id": "U1"}],
        beds,
        [{"id": "x", "keep_together": ["y"]}, {"id": "y"}],
    )


def _pairs_in_unit(problem: Problem, unit: str) -> tuple[Instance, list[int]]:
    inst = build_instance(problem)
    u = inst.tables.units.index[unit]
    return inst, np.flatnonzero(inst.pair_unit == u).tolist()


def test_a_couple_is_closed_in_a_unit_with_one_free_bed_space() -> None:
    problem = _couple_in_two_units(first_unit_beds=1)
    inst, in_u0 = _pairs_in_unit(problem, "U0")
    layout = build_model(inst)
    upper = np.asarray(layout.model.upper)
    assert len(in_u0) == 2 and upper[in_u0].tolist() == [0, 0]
    _, in_u1 = _pairs_in_unit(problem, "U1")
    assert upper[in_u1].tolist() == [1, 1]
    # The LP relaxation can no longer put half of each partner in U0.
    model = SparseModel.of(layout.model)
    objective = np.zeros(model.n_vars, dtype=np.int64)
    objective[in_u0] = 1
    assert mip_prover.relax(model, objective, 10).value == 0


def test_a_couple_stays_open_where_both_fit() -> None:
    problem = _couple_in_two_units(first_unit_beds=2)
    inst, in_u0 = _pairs_in_unit(problem, "U0")
    layout = build_model(inst)
    assert np.asarray(layout.model.upper)[in_u0].tolist() == [1, 1]


def test_a_group_overfilling_a_knapsack_row_is_closed_and_one_that_fits_is_not() -> None:
    # Two couples over four people needing 4 hours each, 7 hours of room: the pair (0, 1)
    # needs 8, the pair (2, 3) lies in no row that binds it.
    model = LinearModel()
    model.add_vars(4, 0, 1)
    model.add_row([0, 1, 2], [4, 4, 1], None, 7)
    model.add_row([0, 1], [1, -1], 0, 0)
    model.add_row([2, 3], [1, -1], 0, 0)
    sparse = SparseModel.of(model)
    assert unfit_group_pairs(sparse, [[0, 1], [2, 3]]) == [0, 1]


def test_a_group_breaking_a_lower_bound_is_closed() -> None:
    # x2 - x0 - x1 >= -1 with x2 held at 0: one member at 1 keeps it, both break it.
    model = LinearModel()
    model.add_vars(2, 0, 1)
    model.add_vars(1, 0, 0)
    model.add_row([2, 0, 1], [1, -1, -1], -1, None)
    sparse = SparseModel.of(model)
    assert unfit_group_pairs(sparse, [[0, 1]]) == [0, 1]
    assert unfit_group_pairs(sparse, [[0], [1]]) == []


@st.composite
def crowded_couples(draw: st.DrawFn) -> Problem:
    """Couples and small units: one to three free bed-spaces, tight support hours and
    high-risk room, so that partners often fit a unit alone and not together."""
    units, beds = [], []
    for u in range(draw(st.integers(1, 3))):
        units.append(
            {
                "id": f"U{u}",
                "support_hours_capacity": draw(st.sampled_from([4, 8, 100])),
                "max_high_risk_residents": draw(st.sampled_from([1, 2, 100])),
            }
        )
        beds += [{"id": f"B{u}{b}", "unit": f"U{u}"} for b in range(draw(st.integers(1, 3)))]
    referrals = [
        {
            "id": f"R{i}",
            "gender": draw(st.sampled_from(["man", "woman"])),
            "risk": draw(st.sampled_from(["low", "high"])),
            "support_hours": draw(st.sampled_from([0, 3, 5])),
        }
        for i in range(draw(st.integers(2, 5)))
    ]
    referrals[0]["keep_together"] = ["R1"]
    if len(referrals) >= 4 and draw(st.booleans()):
        referrals[2]["keep_together"] = ["R3"]
    return make_problem(units, beds, referrals)


@settings(max_examples=60, deadline=None)
@given(st.one_of(crowded_couples(), problems(max_referrals=7, max_beds=8, max_units=3)))
def test_a_closed_group_has_no_integer_point_in_its_unit(problem: Problem) -> None:
    """Closing is sound: for every group closed in a unit, the model without the closure
    has no integer point placing the group there (CBC, exactly)."""
    inst = build_instance(problem)
    layout = build_model(inst)
    closed = np.asarray(layout.model.upper[: inst.n_pairs]) == 0
    if not closed.any():
        return
    # The model with every pair open again; every closed pair is forced to 1, group by group.
    reopened = SparseModel.of(layout.model)
    upper = reopened.upper.copy()
    upper[: inst.n_pairs][closed] = 1
    reopened = replace(reopened, upper=upper)
    for members in inst.coupling.keep_together_groups:
        for unit in np.unique(inst.pair_unit[np.isin(inst.pair_ref, members) & closed]):
            pairs = np.flatnonzero(
                np.isin(inst.pair_ref, members) & (inst.pair_unit == unit) & closed
            )
            lower = reopened.lower.copy()
            lower[pairs] = 1
            forced = replace(reopened, lower=lower)
            outcome = mip_prover.maximise(forced, np.zeros(forced.n_vars, dtype=np.int64), 10)
            assert outcome.values is None, (members, int(unit))
