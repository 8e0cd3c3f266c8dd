"""Measurements run isolated in a child process, and the mask benchmark checks what it times."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from typing import Any

import pytest

from benchmarks import mask
from benchmarks.machine import IsolatedFailure, run_isolated
from benchmarks.mask import sample_referrals
from fixtures.generator import generate


def resident_block(megabytes: int) -> bytearray:
    block = bytearray(megabytes << 20)
    block[::4096] = b"x" * len(block[::4096])  # touch every page so it is resident
    return block


def allocate(megabytes: int) -> dict[str, Any]:
    return {"size": len(resident_block(megabytes))}


def allocate_and_hold(megabytes: int) -> dict[str, Any]:
    block = resident_block(megabytes)
    time.sleep(1.0)  # long enough for the memory sampler to see it
    return {"size": len(block)}


def allocate_in_a_worker(megabytes: int) -> dict[str, Any]:
    worker = multiprocessing.get_context("fork").Process(
        target=allocate_and_hold, args=(megabytes,)
    )
    worker.start()
    worker.join()
    return {}


def a_small_program_beside_a_large_process(megabytes: int) -> dict[str, Any]:
    block = resident_block(megabytes)
    subprocess.run([sys.executable, "-c", "import time; time.sleep(1.0)"], check=True)
    return {"size": len(block)}


def fail() -> dict[str, Any]:
    raise ValueError("the measurement went wrong")


def hang() -> dict[str, Any]:
    time.sleep(60)
    return {}


def test_isolated_result_carries_the_child_peak_memory() -> None:
    small = run_isolated(allocate, 60, megabytes=1)
    large = run_isolated(allocate, 60, megabytes=200)
    assert large["size"] == 200 << 20
    assert large["peak_rss_bytes"] - small["peak_rss_bytes"] >= 150 << 20


def test_isolated_result_carries_its_largest_worker_process_peak_too() -> None:
    result = run_isolated(allocate_in_a_worker, 60, megabytes=200)
    assert result["peak_rss_children_bytes"] >= 200 << 20
    assert result["peak_rss_bytes"] < result["peak_rss_children_bytes"]  # not counted twice
    assert result["peak_tree_pss_bytes"] >= 200 << 20


def test_a_program_started_by_a_large_process_is_measured_at_its_own_size() -> None:
    # After fork and exec, the kernel starts a program's ru_maxrss at its parent's resident
    # set: RUSAGE_CHILDREN said 300 MiB here for an interpreter that sleeps.
    result = run_isolated(a_small_program_beside_a_large_process, 60, megabytes=300)
    assert 0 < result["peak_rss_children_bytes"] < 100 << 20
    assert result["peak_rss_bytes"] >= 300 << 20
    assert result["peak_tree_pss_bytes"] >= 300 << 20


def test_isolated_errors_and_timeouts_are_reported_not_raised_raw() -> None:
    with pytest.raises(IsolatedFailure, match="ValueError: the measurement went wrong"):
        run_isolated(fail, 60)
    with pytest.raises(IsolatedFailure, match="no result within"):
        run_isolated(hang, 0.5)


def test_sample_spreads_over_all_referrals() -> None:
    assert sample_referrals(100, 5) == [0, 24, 49, 74, 99]
    assert sample_referrals(3, 10) == [0, 1, 2]
    assert sample_referrals(0, 5) == []


def test_mask_benchmark_times_and_checks_the_mask() -> None:
    record = mask.run(referrals=30, beds=60, seed=7, repeat=3, baseline_sample=4)
    assert record["repeat"] == 3 and len(record["seconds"]) == 3
    assert record["min_s"] <= record["median_s"] <= record["max_s"]
    assert record["pairs"] == 30 * 60 and record["sample_agrees"] is True
    assert record["baseline_sample_referrals"] == 4
    assert record["traced_peak_bytes"] > 0
    assert mask.meets_targets(record | {"median_s": 1.9, "process_peak_rss_bytes": 1 << 29})
    assert not mask.meets_targets(record | {"median_s": 2.1, "process_peak_rss_bytes": 1 << 29})
    assert not mask.meets_targets(record | {"median_s": 1.0, "process_peak_rss_bytes": 2 << 30})


def test_sample_agreement_catches_a_mask_that_differs_from_the_rules() -> None:
    problem = generate(7, 10, 20)
    plain = mask.plain_per_pair(problem, [0, 9])
    assert mask.sample_agrees(problem, plain["failed"])
    plain["failed"][9][3] ^= {"within_age_band"}
    assert not mask.sample_agrees(problem, plain["failed"])
