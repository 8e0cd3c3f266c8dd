"""Shared helpers for the solve tests: the lexicographic value of a solution, from the problem;
a knapsack small enough to know its optimum."""

from __future__ import annotations

from constraints.scores import score
from constraints.tables import build_tables
from matcher.backends.classes import LinearModel
from matcher.backends.submodel import SparseModel
from matcher.model import Problem, Solution


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
