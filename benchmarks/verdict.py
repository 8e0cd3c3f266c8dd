"""Whether a benchmark run shows a regression in correctness or quality (never in speed).

A run fails when any solution breaks a hard rule (the checker's verdict), when CP-SAT and
PuLP both claim optimality yet place different numbers per priority band or reach different
soft objectives, when an exact backend's proven gap is above the target (or it proves none),
when an exact backend ends lexicographically below the greedy baseline it can always fall back
to, when a measurement crashed, or when the eligibility mask disagrees with the plain rules on
its sample. Absolute times never fail a run: the machine is shared and noisy.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from benchmarks.solves import BANDS, EXACT_BACKENDS

# Issue 4: the soft gap on the largest instances is at most 1%.
GAP_TARGET = 0.01
SOFT_REL_TOLERANCE = 1e-6


def solve_failures(records: list[dict[str, Any]], gap_target: float = GAP_TARGET) -> list[str]:
    """Every reason the solve records fail the run, one sentence each."""
    failures: list[str] = []
    by_instance: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for record in records:
        where = f"{record['instance']} / {record['backend']}"
        outcome = record.get("outcome", "measured")
        if outcome == "error":
            failures.append(f"{where}: the measurement failed: {_first_line(record.get('error'))}")
            continue
        if outcome != "measured":
            continue
        by_instance[record["instance"]][record["backend"]] = record
        if record.get("violations", 0):
            examples = "; ".join(record.get("violation_examples", [])[:3])
            failures.append(
                f"{where}: the checker found {record['violations']} broken hard rule(s): {examples}"
            )
        if record["backend"] in EXACT_BACKENDS:
            failures.extend(_gap_failures(where, record, gap_target))
        failures.extend(_matching_failures(where, record))
    for instance, backends in sorted(by_instance.items()):
        failures.extend(_disagreement(instance, backends))
        failures.extend(_worse_than_greedy(instance, backends))
    return failures


def _gap_failures(where: str, record: dict[str, Any], gap_target: float) -> list[str]:
    if record.get("status") == "optimal":
        return []
    gap = record.get("gap")
    if gap is None:
        return [f"{where}: status {record.get('status')} with no proven gap"]
    if gap > gap_target:
        return [f"{where}: proven gap {gap:.4%} is above the target {gap_target:.2%}"]
    return []


def _matching_failures(where: str, record: dict[str, Any]) -> list[str]:
    """On a slack instance the most that can be placed is a maximum matching, found outside
    the solver: placing more is impossible, and a proof of fewer is false."""
    optimum = record.get("matching_optimum")
    if optimum is None:
        return []
    placed = record.get("placed", 0)
    if placed > optimum:
        return [f"{where}: places {placed}, more than the maximum matching's {optimum}"]
    bounds = record.get("placed_bound_by_priority") or {}
    proven = sum(bounds.values()) if bounds else None
    if placed < optimum and (record.get("status") == "optimal" or proven == placed):
        return [f"{where}: proves {placed} placed, but a maximum matching places {optimum}"]
    return []


def _disagreement(instance: str, backends: dict[str, dict[str, Any]]) -> list[str]:
    """CP-SAT and PuLP read the same masks and scores, so two optima must be the same."""
    exact = [backends[name] for name in EXACT_BACKENDS if name in backends]
    if len(exact) < 2 or not all(r.get("status") == "optimal" for r in exact):
        return []
    first, second = exact
    failures = []
    if first.get("placed_by_band") != second.get("placed_by_band"):
        failures.append(
            f"{instance}: cpsat and pulp both claim optimality but place different counts per "
            f"band: {first.get('placed_by_band')} vs {second.get('placed_by_band')}"
        )
    a, b = first.get("soft_objective"), second.get("soft_objective")
    if a is None or b is None or not math.isclose(a, b, rel_tol=SOFT_REL_TOLERANCE, abs_tol=1e-6):
        failures.append(
            f"{instance}: cpsat and pulp both claim optimality but reach different soft "
            f"objectives: {a} vs {b}"
        )
    return failures


def lexicographic_value(record: dict[str, Any]) -> tuple[float, ...]:
    """Placed per band, 5 first, then the soft objective: the order DESIGN.md optimises in."""
    bands = record.get("placed_by_band") or {}
    return (*(bands.get(band, 0) for band in BANDS), record.get("soft_objective") or 0.0)


def _worse_than_greedy(instance: str, backends: dict[str, dict[str, Any]]) -> list[str]:
    """An exact backend starts from (or falls back to) greedy, so ending below it is a bug."""
    greedy = backends.get("greedy")
    if greedy is None:
        return []
    baseline = lexicographic_value(greedy)
    failures = []
    for name in EXACT_BACKENDS:
        record = backends.get(name)
        if record is None:
            continue
        value = lexicographic_value(record)
        bands_worse = value[:-1] < baseline[:-1]
        soft_worse = value[:-1] == baseline[:-1] and value[-1] < baseline[-1] - 1e-6 * max(
            1.0, abs(baseline[-1])
        )
        if bands_worse or soft_worse:
            failures.append(
                f"{instance}: {name} ({record.get('status')}) is worse than the greedy baseline: "
                f"placed per band {record.get('placed_by_band')} and soft "
                f"{record.get('soft_objective')} vs {greedy.get('placed_by_band')} and "
                f"{greedy.get('soft_objective')}"
            )
    return failures


def mask_failures(record: dict[str, Any] | None) -> list[str]:
    if record is None or record.get("outcome") == "skipped":
        return []
    if record.get("outcome") == "error":
        return [f"mask benchmark failed: {_first_line(record.get('error'))}"]
    if not record.get("sample_agrees", False):
        return ["the eligibility mask disagrees with the plain per-pair rules on its sample"]
    return []


def run_failures(results: dict[str, Any], gap_target: float = GAP_TARGET) -> list[str]:
    """Every failure of a whole `results.json` document."""
    return solve_failures(results.get("solves", []), gap_target) + mask_failures(
        results.get("mask")
    )


def _first_line(text: Any) -> str:
    return str(text or "unknown error").strip().splitlines()[0]
