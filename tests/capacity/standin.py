"""Temporary tiny matcher for early simulation tests; replaced by matcher.solve.solve."""

from __future__ import annotations

from constraints.checker import check
from constraints.eligibility import eligibility
from matcher.model import Assignment, Problem, Solution, Staffing


def standin_solve(problem: Problem, backend: str, time_limit_s: float) -> Solution:
    allowed = eligibility(problem).allowed
    units = {u.id: u for u in problem.units}
    order = sorted(
        range(len(problem.referrals)),
        key=lambda r: (-problem.referrals[r].priority, problem.referrals[r].referred),
    )
    chosen: list[Assignment] = []
    taken: set[str] = set()
    for r in order:
        referral = problem.referrals[r]
        if referral.keep_together:
            continue
        for b, bed in enumerate(problem.bedspaces):
            if not allowed[r, b] or bed.id in taken:
                continue
            unit = units[bed.unit]
            teams: list[str | None] = [None]
            if unit.staffing is Staffing.visiting:
                teams = [t.id for t in problem.support_teams]
            placed = False
            for team in teams:
                trial = [
                    *chosen,
                    Assignment(referral=referral.id, bedspace=bed.id, support_team=team),
                ]
                if not check(problem, Solution(assignments=trial)):
                    chosen, placed = trial, True
                    taken.add(bed.id)
                    break
            if placed:
                break
    return Solution(assignments=chosen, backend="standin")
