"""The mixed load benchmark runs end to end at a tiny size (its figures come from real runs)."""

from __future__ import annotations

from benchmarks.load_mixed import markdown, run


def test_the_mixed_load_benchmark_serves_every_kind_of_request() -> None:
    result = run(
        referrals=30,
        beds=60,
        clients=3,
        duration_s=10,
        max_requests=120,
        placement_share=0.4,
        think_ms=20,
        paced_s=2,
    )
    load = result["load"]
    assert load["overall"]["errors"] == 0, load["first_errors"]
    assert load["by_kind"]["rank"]["answered"] > 0
    assert load["by_kind"]["vacancies"]["answered"] > 0
    assert load["by_kind"]["placement"]["answered"] > 0
    overall = load["overall"]
    assert overall["p99_ms"] >= overall["p50_ms"] > 0
    assert "| all |" in markdown(result)
    assert result["load_average_before"] and len(result["load_average_after"]) == 3
    assert result["floor"]["overall"]["answered"] > 0 and result["floor"]["overall"]["errors"] == 0
    assert result["paced"]["overall"]["answered"] > 0 and result["paced"]["overall"]["errors"] == 0
    assert "| floor: `/api/auth/me` only |" in markdown(result)
