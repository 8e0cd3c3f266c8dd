"""Batch allocation: `solve(problem, backend, time_limit_s)` → a checked `Solution`.

Every result passes `constraints.checker.check` before it is returned. When an exact backend
has no solution in time, or its result fails the checker (which would be a bug), the greedy
allocation is returned with status `fallback`; if even that failed, nobody would be placed —
never an invalid allocation, never nothing.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from constraints.checker import check
from matcher.backends.base import BANDS_PROVEN_S, Backend, BackendResult
from matcher.backends.classes import Assignment3, Instance, build_instance, lexicographic_value
from matcher.backends.cpsat import CpSatBackend
from matcher.backends.floors import (
    SETTLE_SHARE,
    floor_report,
    has_floors,
    settled,
    within_floors,
)
from matcher.backends.greedy import GreedyBackend, greedy_placements
from matcher.backends.network import network_optimum
from matcher.backends.pulp_backend import PulpBackend
from matcher.backends.relaxation import (
    FlowRelaxation,
    guided_placements,
    trivial_stage_bounds,
)
from matcher.backends.settings import SolverSettings
from matcher.equity import equity
from matcher.errors import BackendUnavailable
from matcher.model import Assignment, Problem, Solution, Unplaced
from matcher.objective import BANDS, SOFT, report
from matcher.support_places import from_homes, wants_support, with_homes
from matcher.unplaced import unplaced_reasons

BACKENDS = ("cpsat", "pulp", "greedy")
# Seconds a referral kept from the backend for the greedy fill, the checker and the reasons
# for the unplaced after it (measured in `benchmarks/NOTES.md`).
FINISH_SECONDS_PER_REFERRAL = 0.0006


def make_backend(name: str, **options: Any) -> Backend:
    """A backend by name; options go to its constructor (for cpsat, fields of its
    `SolverSettings`, e.g. `num_workers`)."""
    if name == "cpsat":
        return CpSatBackend(SolverSettings(**options))
    if name == "pulp":
        return PulpBackend(**options)
    if name == "greedy":
        return GreedyBackend()
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


def solve(
    problem: Problem,
    backend: str = "cpsat",
    time_limit_s: float = 30.0,
    *,
    explain: bool = True,
    **options: Any,
) -> Solution:
    """Allocate referrals to bed-spaces and support teams, optimally where time allows; a
    referral who asked for support only is given a team alone (`matcher.support_places`).

    `explain=False` leaves out the reasons for the unplaced and the equity table, for a
    caller that reads only the placements (the capacity simulation, every simulated day)."""
    if not wants_support(problem):
        return _solve_places(problem, backend, time_limit_s, explain=explain, **options)
    started = time.perf_counter()
    run = _solve_places(with_homes(problem), backend, time_limit_s, explain=explain, **options)
    solution = from_homes(problem, run)
    if check(problem, solution):
        # A bug, never an answer: the bed-spaces alone, or nobody, as for any backend.
        solution = _without(solution, support_placements=True)
        if check(problem, solution):
            solution = _without(solution, support_placements=False)
    placed = {a.referral for a in solution.assignments} | {
        s.referral for s in solution.support_placements
    }
    return solution.model_copy(
        update={
            "solve_seconds": round(time.perf_counter() - started, 3),
            "equity": [row.model_dump() for row in equity(problem.referrals, placed, problem.as_of)]
            if explain
            else [],
        }
    )


def _without(solution: Solution, support_placements: bool) -> Solution:
    """The solution with its support placements (or every placement) taken back."""
    taken = [s.referral for s in solution.support_placements]
    update: dict[str, Any] = {"support_placements": []}
    if not support_placements:
        taken += [a.referral for a in solution.assignments]
        update["assignments"] = []
    unplaced = [
        *solution.unplaced,
        *(Unplaced(referral=r, reasons=["not placed in this run"]) for r in taken),
    ]
    update["unplaced"] = sorted(unplaced, key=lambda u: u.referral)
    return solution.model_copy(update=update)


def _solve_places(
    problem: Problem,
    backend: str = "cpsat",
    time_limit_s: float = 30.0,
    *,
    explain: bool = True,
    **options: Any,
) -> Solution:
    if time_limit_s < 0:
        raise ValueError("time_limit_s must not be negative")
    started = time.perf_counter()
    solver = make_backend(backend, **options)
    if not solver.available():
        raise BackendUnavailable(f"backend {backend!r} cannot run here")
    inst = build_instance(problem)
    floored = has_floors(inst)
    if floored:
        # Settled first: whether each share floor is within reach decides every start.
        settled(inst, SETTLE_SHARE * time_limit_s)
    # With no rule coupling people able to bind, one min-cost flow is the whole optimum.
    exact = None if backend == "greedy" or floored else network_optimum(inst)
    if exact is not None and not _valid(problem, inst, exact.placements):
        exact = None  # a bug, never an answer: the staged backends solve it instead
    status = "feasible"
    if exact is not None:
        # Every band and the soft points are proven at once, from the start of this solve.
        exact.detail[BANDS_PROVEN_S] = round(time.perf_counter() - started, 3)
        result = exact
    elif backend == "greedy":
        result = BackendResult(_within(inst, greedy_placements(inst), floored))
    else:
        result, status = _staged(problem, inst, solver, time_limit_s, started)
    if (backend == "greedy" or status == "fallback") and not _valid(
        problem, inst, result.placements
    ):
        result = BackendResult([], timed_out=result.timed_out, detail=result.detail)
    solution = _solution(inst, result, backend, status, explain)
    placed = {a.referral for a in solution.assignments}
    # The time includes writing the answer: the reasons for the unplaced take seconds on
    # a large instance, and a caller waits for them as for the search.
    return solution.model_copy(
        update={
            "solve_seconds": round(time.perf_counter() - started, 3),
            # An extra field: per cohort, who waited, who is placed, and the gap to the list.
            "equity": [row.model_dump() for row in equity(problem.referrals, placed, problem.as_of)]
            if explain
            else [],
            **({"floors": floor_report(inst, result.placements)} if floored else {}),
        }
    )


def _staged(
    problem: Problem, inst: Instance, solver: Backend, time_limit_s: float, started: float
) -> tuple[BackendResult, str]:
    """An exact backend's result from the better of two greedy starts, in the time the limit
    leaves, and its status: "fallback" where the backend's answer is not the one returned."""
    floored = has_floors(inst)
    status = "feasible"
    greedy = _within(inst, greedy_placements(inst), floored)
    # The search starts from the better of greedy and the flow-guided greedy.
    guided = _within(inst, guided_placements(inst, FlowRelaxation(inst).guide()), floored)
    start = max(greedy, guided, key=lambda placements: lexicographic_value(inst, placements))
    # Checking the result and naming reasons for the unplaced come after the search and
    # count against the limit too (`FINISH_SECONDS_PER_REFERRAL`).
    reserve = min(0.25 * time_limit_s, FINISH_SECONDS_PER_REFERRAL * len(inst.tables.referrals))
    before_backend = time.perf_counter() - started
    remaining = max(0.0, time_limit_s - before_backend - reserve)
    result = solver.solve(inst, remaining, hint=start)
    proven_s = result.detail.get(BANDS_PROVEN_S)
    if isinstance(proven_s, float | int):
        # From the start of this solve, as `solve_seconds` is.
        result.detail[BANDS_PROVEN_S] = round(before_backend + proven_s, 3)
    if result.timed_out and not result.no_solution:
        # Stopped mid-way: fill what the search left open, moving nobody.
        result.placements = _within(inst, greedy_placements(inst, start=result.placements), floored)
    if result.no_solution or not _valid(problem, inst, result.placements):
        # The backend's answer is not the one returned: nothing it proved is claimed.
        detail = {k: v for k, v in result.detail.items() if k != BANDS_PROVEN_S}
        result = BackendResult(start, timed_out=result.timed_out, detail=detail)
        status = "fallback"
    else:
        found = lexicographic_value(inst, result.placements)
        from_start = lexicographic_value(inst, start)
        if from_start > found:
            # A stage stopped early can leave later bands below the start: never return
            # less. The backend's soft bound holds only for allocations placing at least
            # as many per band as its own.
            if any(s < f for s, f in zip(from_start[:-1], found[:-1], strict=True)):
                result.stage_bounds.pop(SOFT, None)
            result.placements = start
    return result, status


def _assignments(inst: Instance, placements: list[Assignment3]) -> list[Assignment]:
    tables = inst.tables
    out = []
    for r, bed, team in placements:
        u = int(tables.beds.unit[bed])
        terms = inst.pair_terms(r, u)
        out.append(
            Assignment(
                referral=tables.referrals.ids[r],
                bedspace=tables.beds.ids[bed],
                support_team=None if team is None else tables.teams.ids[team],
                score=float(sum(terms.values())),
                terms={k: float(v) for k, v in terms.items()},
            )
        )
    return out


def _within(inst: Instance, placements: list[Assignment3], floored: bool) -> list[Assignment3]:
    return within_floors(inst, placements) if floored else placements


def _valid(problem: Problem, inst: Instance, placements: list[Assignment3]) -> bool:
    solution = Solution.model_validate(
        {"assignments": _assignments(inst, placements), "floors": floor_report(inst, placements)}
    )
    return not check(problem, solution)


def _solution(
    inst: Instance, result: BackendResult, backend: str, status: str, explain: bool = True
) -> Solution:
    refs = inst.tables.referrals
    placements = result.placements
    placed_by_band = {b: 0 for b in BANDS}
    soft = 0
    for r, bed, _ in placements:
        placed_by_band[int(refs.priority[r])] += 1
        soft += int(inst.points[r, int(inst.tables.beds.unit[bed])])
    rep = report(placed_by_band, soft, result.stage_bounds, trivial_stage_bounds(inst))
    if status != "fallback":
        status = "optimal" if rep.proven else "feasible"
    # Bands the search stopped in (or before) are not proven for their referrals.
    unproven = {
        int(band)
        for band, bound in rep.placed_bound_by_priority.items()
        if bound > rep.placed_by_priority[band]
    }
    if not result.timed_out:
        unproven = set()
    reasons = unplaced_reasons(inst, placements, unproven) if explain else {}
    return Solution.model_validate(
        {
            "status": status,
            "objective": rep.objective,
            "bound": rep.bound,
            "gap": rep.gap,
            "backend": backend,
            "placed_by_priority": rep.placed_by_priority,
            # Extra fields (a Solution allows them): the proven bound of each band, the
            # soft points' bound given the bands as placed, and what the backend did
            # (stages, model size).
            "placed_bound_by_priority": rep.placed_bound_by_priority,
            "soft_bound_given_bands": rep.soft_bound_given_bands,
            "assignments": _assignments(inst, placements),
            "unplaced": [
                Unplaced(referral=refs.ids[r], reasons=reasons[r]) for r in sorted(reasons)
            ],
            "detail": _jsonable(result.detail),
        }
    )


def _jsonable(detail: dict[str, object]) -> dict[str, object]:
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in detail.items()}
