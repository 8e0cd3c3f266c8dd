"""Shared helpers for the solve tests: the lexicographic value of a solution, from the problem;
a knapsack small enough to know its optimum; a problem's band stages solved to optimality."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constraints.scores import score
from constraints.tables import build_tables
from matcher.backends import mip_prover
from matcher.backends.classes import Instance, build_instance
from matcher.backends.linear import LinearModel, Row
from matcher.backends.reduced_model import ModelLayout, build_model
from matcher.backends.submodel import SparseModel, SubModel, restrict
from matcher.model import Problem, Solution
from matcher.objective import stages


def lexicographic_value(problem: Problem, solution: Solution) -> tuple[int, ...]:
    """(placed in band 5, ..., placed in band 1, soft points), recomputed independently."""
    tables = build_tables(problem)
    points = score(tables).total()
    priority = {r.id: r.priority for r in problem.referrals}
    unit_of = {b.id: b.unit for b in problem.bedspaces}
    counts = [0] * 5
    soft = 0
    for a in solution.assignments:
        counts[5 - priority[a.referral]] += 1
        soft += int(
            points[tables.referrals.index[a.referral], tables.units.index[unit_of[a.bedspace]]]
        )
    return (*counts, soft)


def three_people_seven_hours() -> SparseModel:
    """Three people needing 3 hours of support each, 7 hours of room: two fit, never three
    (maximising the number placed, the optimum is 2)."""
    model = LinearModel()
    model.add_vars(3, 0, 1)
    model.add_row([0, 1, 2], [3, 3, 3], None, 7)
    return SparseModel.of(model)


@dataclass(frozen=True)
class BandStage:
    """One band stage as the backend sees it: the model with the bands above held at their
    optimum (`full`), its free mask, its objective over the model, the stage as a sub-model,
    and its integer optimum with the values (over the sub-model) that reach it."""

    inst: Instance
    layout: ModelLayout
    full: SparseModel
    free: np.ndarray
    objective: np.ndarray
    sub: SubModel
    optimum: int
    values: np.ndarray


def band_stages(problem: Problem) -> list[BandStage]:
    """Every band stage of `problem`, each solved to its optimum by CBC."""
    inst = build_instance(problem)
    layout = build_model(inst)
    full = SparseModel.of(layout.model)
    priority = inst.tables.referrals.priority[inst.pair_ref]
    out = []
    for stage in stages(priority, inst.pair_points, inst.pair_group_priority())[:-1]:
        free = np.ones(full.n_vars, dtype=bool)
        free[: layout.n_pairs] = stage.active
        objective = np.zeros(full.n_vars, dtype=np.int64)
        objective[: layout.n_pairs] = stage.coefficients
        sub = restrict(full, free, np.zeros(full.n_vars, dtype=np.int64))
        exact = mip_prover.maximise(sub.model, objective[sub.free], 20.0)
        assert exact.optimal and exact.values is not None
        optimum = int(objective[sub.free] @ exact.values)
        out.append(BandStage(inst, layout, full, free, objective, sub, optimum, exact.values))
        nz = np.flatnonzero(stage.coefficients)
        full = full.with_rows([Row(nz, stage.coefficients[nz], optimum, None)])
    return out


def three_units_of_seven_hours() -> tuple[SparseModel, np.ndarray]:
    """Nine people of 3 support hours each, any of whom may go to any of three units with 7
    hours of room: the LP places 7 (a third of a person's hours left in each unit), whole
    people only 6. Variable ``3 * person + unit``; with each variable's unit."""
    model = LinearModel()
    model.add_vars(27, 0, 1)
    for person in range(9):
        model.add_row([3 * person + u for u in range(3)], [1, 1, 1], None, 1)
    for u in range(3):
        model.add_row([3 * person + u for person in range(9)], [3] * 9, None, 7)
    return SparseModel.of(model), np.tile(np.arange(3), 9)
