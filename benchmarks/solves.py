"""One instance, one backend, solved `repeat` times: times, quality, memory, the checker's word.

The record carries the Solution's summary fields (status, objective, bound, gap, backend,
placed per priority band) from the first solve, the solve times of every repeat (median and
spread), the soft objective (the sum of the assignments' soft scores, which both exact
backends optimise within the bands), and the checker's verdict on every repeat's solution.
"""

from __future__ import annotations

import gc
import importlib
import statistics
import time
from collections import Counter
from typing import Any

from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from benchmarks.families import InstanceSpec
from constraints.checker import check
from constraints.eligibility import eligibility
from matcher.backends.base import BANDS_PROVEN_S
from matcher.model import Problem, Solution

BACKENDS = ("cpsat", "pulp", "greedy")
EXACT_BACKENDS = ("cpsat", "pulp")
BANDS = ("5", "4", "3", "2", "1")


def solver_status() -> tuple[str, str | None]:
    """Whether `matcher.solve` imports: ("available", None), ("absent", why), ("broken", why).

    Absent (not yet in this checkout) skips the solves; broken (it exists but fails to
    import) is an error the verdict fails on, since CI must not pass over a broken solver.
    """
    try:
        importlib.import_module("matcher.solve")
    except ModuleNotFoundError as error:
        if error.name == "matcher.solve":
            return "absent", "matcher.solve is not in this checkout"
        return "broken", f"matcher.solve does not import: {type(error).__name__}: {error}"
    except Exception as error:  # any import-time failure is the solver's, reported as such
        return "broken", f"matcher.solve does not import: {type(error).__name__}: {error}"
    return "available", None


def solver_available() -> bool:
    return solver_status()[0] == "available"


def placed_by_band(problem: Problem, solution: Solution) -> dict[str, int]:
    """How many referrals of each priority band the solution places, bands 5 to 1."""
    priority = {r.id: r.priority for r in problem.referrals}
    counts = Counter(str(priority[a.referral]) for a in solution.assignments)
    return {band: counts.get(band, 0) for band in BANDS}


def soft_objective(solution: Solution) -> float:
    return float(sum(a.score for a in solution.assignments))


def summarise(problem: Problem, solution: Solution) -> dict[str, Any]:
    """The Solution's summary fields plus what the runner derives from it."""
    return {
        "status": solution.status,
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        "solve_seconds": solution.solve_seconds,
        "placed_by_priority": dict(solution.placed_by_priority),
        "placed_by_band": placed_by_band(problem, solution),
        # An extra field of the Solution: each band's proven bound.
        "placed_bound_by_priority": dict(
            (solution.model_extra or {}).get("placed_bound_by_priority") or {}
        ),
        "placed": len(solution.assignments),
        "unplaced": len(problem.referrals) - len(solution.assignments),
        "soft_objective": soft_objective(solution),
        # An extra field of the Solution: the soft points' proven bound given the bands as
        # placed (issue 4's soft gap on the large instance, whose band 1 may stay open).
        "soft_bound_given_bands": (solution.model_extra or {}).get("soft_bound_given_bands"),
    }


def bands_proven_s(solution: Solution) -> float | None:
    """When the solve had every band proven optimal, in seconds from its start (None if it
    never had, or the backend does not say)."""
    detail = (solution.model_extra or {}).get("detail") or {}
    value = detail.get(BANDS_PROVEN_S)
    return float(value) if isinstance(value, int | float) else None


def broken_rules(problem: Problem, solution: Solution) -> list[str]:
    """The checker's findings on one solution, one line each (empty when it is valid)."""
    return [f"{v.rule}: {v.message}" for v in check(problem, solution)]


def checker_fields(violations: list[str]) -> dict[str, Any]:
    """The checker's verdict as record fields: a count, a few examples, pass or FAIL."""
    return {
        "violations": len(violations),
        "violation_examples": violations[:5],
        "checker": "pass" if not violations else "FAIL",
    }


def measure_solve(
    problem: Problem, backend: str, *, repeat: int, time_limit_s: float
) -> dict[str, Any]:
    """Solve `repeat` times; summary of the first solve, times of all, every one checked."""
    from matcher.solve import solve  # lazily: the runner works before the solver lands

    times: list[float] = []
    proven: list[float | None] = []
    violations: list[str] = []
    first: dict[str, Any] | None = None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        solution = solve(problem, backend=backend, time_limit_s=time_limit_s)
        times.append(time.perf_counter() - start)
        proven.append(bands_proven_s(solution))
        violations.extend(broken_rules(problem, solution))
        if first is None:
            first = summarise(problem, solution)
    assert first is not None
    return {
        **first,
        "repeat": len(times),
        "seconds": times,
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "stdev_s": statistics.stdev(times) if len(times) > 1 else 0.0,
        # Per solve: when every band was proven (None: never in that solve).
        "bands_proven_s": proven,
        **checker_fields(violations),
    }


def run_instance(
    spec: InstanceSpec, backend: str, *, repeat: int, time_limit_s: float
) -> dict[str, Any]:
    """Build the instance from its seed and measure one backend on it (runs in a child)."""
    problem = spec.build()
    # Before the solves: the matching's own masks must not count in the solve's peak memory.
    matching = maximum_matching(problem) if spec.slack else None
    gc.collect()
    record = measure_solve(problem, backend, repeat=repeat, time_limit_s=time_limit_s)
    if matching is not None:
        record["matching_optimum"] = matching
    return record


def maximum_matching(problem: Problem) -> int:
    """The most referrals that can be placed when only the rules on one person and one place
    count: a maximum bipartite matching of the eligible pairs (scipy's Hopcroft-Karp), the
    outside answer a slack instance's solve must reach."""
    allowed = csr_matrix(eligibility(problem).allowed)
    matched = maximum_bipartite_matching(allowed, perm_type="column")
    return int((matched >= 0).sum())


def instance_fields(spec: InstanceSpec) -> dict[str, Any]:
    return {
        "instance": spec.name,
        "family": spec.family,
        "seed": spec.seed,
        "referrals": spec.referrals,
        "beds": spec.beds,
        "size": spec.size,
        "stress": spec.stress,
        "varied": spec.varied,
        "slack": spec.slack,
    }
