"""Cohort floors (`policy.floors`), counted afresh from a solution's assignments.

A floor asks that a cohort's placement rate be at least the whole list's, or at least a given
share of the cohort (issue 28, after the fair-allocation work of Vayanos et al., FAccT 2022).
It is policy, not a safety rule: a floor no allocation can meet is reported with the best
the cohort can have, and the checker then holds the solution to that best (it cannot
re-prove a maximum, so it takes the count the solution reports and checks it is placed).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ConfigDict

from constraints.cohorts import COHORT_NAMES, cohorts_of_referral
from constraints.coupled_rule import Violation
from matcher.model import LIST_RATE, CohortFloor, Problem, Solution

RULE = "cohort_floor"


class FloorOutcome(BaseModel):
    """One floor against one allocation, with every count a rate comes from."""

    model_config = ConfigDict(frozen=True)

    cohort: str
    at_least: str | float
    waiting: int  # people in the cohort the allocation considered
    placed: int
    everyone_waiting: int
    everyone_placed: int
    required: int | None  # placements a share floor asks for; None for the list rate
    met: bool

    @property
    def rate(self) -> float | None:
        return self.placed / self.waiting if self.waiting else None

    @property
    def list_rate(self) -> float | None:
        return self.everyone_placed / self.everyone_waiting if self.everyone_waiting else None

    def sentence(self) -> str:
        name = COHORT_NAMES.get(self.cohort, self.cohort)
        mine = f"{self.placed} of {self.waiting} placed ({_percent(self.rate)})"
        whole = (
            f"the list's rate {_percent(self.list_rate)} "
            f"({self.everyone_placed} of {self.everyone_waiting})"
        )
        if self.required is None:
            floor = f"the floor is {whole}"
        else:
            floor = f"the floor is {_percent(float(self.at_least))} ({self.required} placed)"
        return f"{name}: {mine}; {floor}."


def _percent(share: float | None) -> str:
    return "no one waiting" if share is None else f"{100 * share:.0f}%"


def required_placements(share: float, members: int) -> int:
    """The placements a share floor asks of a cohort of `members` people (rounded up)."""
    return max(0, math.ceil(share * members - 1e-9))


def floor_outcome(
    problem: Problem, floor: CohortFloor, placed_ids: Collection[str]
) -> FloorOutcome:
    members = [r.id for r in problem.referrals if floor.cohort in cohorts_of_referral(r)]
    placed = sum(m in placed_ids for m in members)
    everyone = len(problem.referrals)
    everyone_placed = sum(r.id in placed_ids for r in problem.referrals)
    if floor.at_least == LIST_RATE:
        required = None
        met = placed * everyone >= everyone_placed * len(members)
    else:
        required = required_placements(float(floor.at_least), len(members))
        met = placed >= required
    return FloorOutcome(
        cohort=floor.cohort,
        at_least=floor.at_least,
        waiting=len(members),
        placed=placed,
        everyone_waiting=everyone,
        everyone_placed=everyone_placed,
        required=required,
        met=met,
    )


def floor_outcomes(problem: Problem, placed_ids: Collection[str]) -> list[FloorOutcome]:
    return [floor_outcome(problem, f, placed_ids) for f in problem.policy.floors]


def floor_violations(problem: Problem, solution: Solution) -> list[Violation]:
    """Every floor the solution's assignments break, unless the solution reports that floor
    out of reach and places at least the best it reports possible."""
    placed_ids = {a.referral for a in solution.assignments}
    reported = {
        entry.get("cohort"): entry
        for entry in getattr(solution, "floors", None) or []
        if isinstance(entry, dict)
    }
    out = []
    for outcome in floor_outcomes(problem, placed_ids):
        if outcome.met or _within_reported_reach(outcome, reported.get(outcome.cohort)):
            continue
        out.append(
            Violation(
                rule=RULE,
                message=f"floor not met: {outcome.sentence()}",
                referrals=[],
            )
        )
    return out


def _within_reported_reach(outcome: FloorOutcome, entry: dict[str, Any] | None) -> bool:
    if entry is None or entry.get("reachable") is True:
        return False
    best = entry.get("best_placed")
    return isinstance(best, int) and outcome.placed >= best
