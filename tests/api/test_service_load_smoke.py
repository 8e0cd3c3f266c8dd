"""The load benchmark script runs end to end at a tiny size (figures come from the real run)."""

from __future__ import annotations

from benchmarks.service_load import markdown, run


def test_the_load_benchmark_serves_and_answers_every_request() -> None:
    result = run(
        seed=3,
        referrals=20,
        beds=40,
        clients=2,
        requests=12,
        duration_s=20,
        baseline_requests=4,
        think_ms=50,
        paced_s=1,
    )
    assert result["load"]["answered"] + result["load"]["errors"] == 12
    assert result["load"]["errors"] == 0, result["load"]["first_errors"]
    assert result["load"]["p99_ms"] >= result["load"]["p50_ms"] > 0
    assert "| load | 2 | rank, summary | 12 | 0 |" in markdown(result)
    assert result["load_full_answers"]["errors"] == 0
    assert result["floor"]["answered"] == 12 and result["floor"]["errors"] == 0
    assert result["paced"]["answered"] > 0 and result["paced"]["errors"] == 0
    other = result["load_other_workers"]
    assert other["workers"] == 2 and other["answered"] == 12 and other["errors"] == 0
    assert "| load, 2 workers | 2 | rank, summary | 12 | 0 |" in markdown(result)
