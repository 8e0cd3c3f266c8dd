"""The run verdict fails on broken rules, exact backends disagreeing, gaps and crashes only."""

from __future__ import annotations

from typing import Any

from benchmarks.families import TINY
from benchmarks.solves import broken_rules, checker_fields, summarise
from benchmarks.verdict import mask_failures, run_failures, solve_failures
from matcher.model import Assignment, Solution

BANDS = {"5": 1, "4": 0, "3": 2, "2": 0, "1": 1}


def record(instance: str = "small", backend: str = "cpsat", **fields: Any) -> dict[str, Any]:
    """A measured solve record as the runner writes it, clean unless told otherwise."""
    base: dict[str, Any] = {
        "instance": instance,
        "backend": backend,
        "outcome": "measured",
        "status": "optimal",
        "gap": 0.0,
        "placed_by_band": dict(BANDS),
        "soft_objective": 1234.0,
        "violations": 0,
        "violation_examples": [],
        "median_s": 1.0,
    }
    return base | fields


def clean_run() -> list[dict[str, Any]]:
    greedy = record(backend="greedy", gap=None, soft_objective=1000.0)
    greedy["placed_by_band"] = BANDS | {"1": 0}
    return [record(backend="cpsat"), record(backend="pulp"), greedy]


def test_a_clean_run_passes_whatever_the_times() -> None:
    records = clean_run()
    records[0]["median_s"] = 10_000.0
    assert solve_failures(records) == []


def test_a_checker_violation_fails_the_run() -> None:
    records = clean_run()
    records[2] |= {"violations": 1, "violation_examples": ["one_person_per_bedspace: B1 twice"]}
    (failure,) = solve_failures(records)
    assert "small / greedy" in failure and "one_person_per_bedspace" in failure


def test_a_real_violating_solution_reaches_the_verdict_through_the_checker() -> None:
    problem = TINY[3].build()
    # Two referrals in one bed-space breaks rule 1 whatever else holds.
    bed = problem.bedspaces[0].id
    both = [Assignment(referral=r.id, bedspace=bed) for r in problem.referrals[:2]]
    solution = Solution(status="feasible", assignments=both)
    violations = broken_rules(problem, solution)
    assert violations
    measured = record(backend="greedy", gap=None) | summarise(problem, solution)
    measured |= checker_fields(violations)
    assert any("greedy" in failure for failure in solve_failures([measured]))


def test_exact_backends_disagreeing_on_band_counts_fail_the_run() -> None:
    records = clean_run()
    records[1]["placed_by_band"] = BANDS | {"1": 2}
    (failure,) = solve_failures(records)
    assert "different counts per band" in failure


def test_exact_backends_disagreeing_on_soft_objective_fail_the_run() -> None:
    records = clean_run()
    records[1]["soft_objective"] = 1233.0
    (failure,) = solve_failures(records)
    assert "different soft objectives" in failure


def test_disagreement_is_only_judged_when_both_claim_optimality() -> None:
    records = clean_run()
    records[1] |= {"status": "feasible", "gap": 0.005, "soft_objective": 1200.0}
    assert solve_failures(records) == []


def test_greedy_may_differ_from_the_exact_backends() -> None:
    records = clean_run()
    records[2] |= {"placed_by_band": BANDS | {"5": 0}, "soft_objective": 10.0}
    assert solve_failures(records) == []


def test_a_gap_above_the_target_fails_and_one_within_passes() -> None:
    within = clean_run()
    within[0] |= {"status": "feasible", "gap": 0.009}
    assert solve_failures(within, gap_target=0.01) == []
    above = clean_run()
    above[0] |= {"status": "feasible", "gap": 0.02}
    (failure,) = solve_failures(above, gap_target=0.01)
    assert "small / cpsat" in failure and "above the target" in failure


def test_an_exact_backend_without_a_proven_gap_fails() -> None:
    records = clean_run()
    records[1] |= {"status": "fallback", "gap": None}
    (failure,) = solve_failures(records)
    assert "no proven gap" in failure


def test_a_crashed_measurement_fails_and_a_skipped_one_does_not() -> None:
    crashed = record(outcome="error", error="BackendUnavailable: highspy missing\nTraceback")
    skipped = record(backend="pulp", outcome="skipped")
    (failure,) = solve_failures([crashed, skipped])
    assert "BackendUnavailable: highspy missing" in failure


def test_a_mask_that_disagrees_with_the_plain_rules_fails() -> None:
    assert mask_failures({"outcome": "measured", "sample_agrees": True}) == []
    assert mask_failures({"outcome": "measured", "sample_agrees": False})
    assert run_failures({"solves": clean_run(), "mask": {"outcome": "error", "error": "boom"}})


def test_an_exact_backend_below_greedy_fails_even_within_its_gap() -> None:
    records = clean_run()
    records[0] |= {"status": "feasible", "gap": 0.005, "placed_by_band": BANDS | {"3": 1}}
    (failure,) = solve_failures(records)
    assert "small: cpsat (feasible) is worse than the greedy baseline" in failure
    fewer_soft = clean_run()
    fewer_soft[2] |= {"placed_by_band": dict(BANDS), "soft_objective": 1100.0}
    fewer_soft[1] |= {"status": "feasible", "gap": 0.005, "soft_objective": 1000.0}
    (failure,) = solve_failures(fewer_soft)
    assert "pulp" in failure and "greedy" in failure


def test_on_a_slack_instance_more_than_the_matching_or_a_false_proof_fails() -> None:
    bounds = {"5": 0, "4": 0, "3": 0, "2": 0, "1": 40}
    reached = record(placed=40, matching_optimum=40, placed_bound_by_priority=bounds)
    assert solve_failures([reached]) == []
    short_open = record(
        status="feasible", gap=0.0, placed=38, matching_optimum=40, placed_bound_by_priority=bounds
    )
    assert solve_failures([short_open]) == []
    false_proof = record(placed=38, matching_optimum=40, placed_bound_by_priority=bounds)
    assert any("maximum matching places 40" in f for f in solve_failures([false_proof]))
    impossible = record(placed=41, matching_optimum=40)
    assert any("more than the maximum matching" in f for f in solve_failures([impossible]))
