"""The rank-latency benchmark runs end to end on a small instance and reports what it says."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.rank_latency import family_markdown, main, markdown, run
from fixtures import generate


def test_run_reports_percentiles_and_the_baseline_ratio() -> None:
    result = run(problem=generate(3, 40, 60), samples=8, baseline_samples=3, full_samples=3)
    assert result["referrals"] == 40 and result["bedspaces"] == 60
    for name in ("rank_top", "rank_top_cpu", "rank_all", "plain_python_pair_loop"):
        figures = result[name]
        assert figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert result["rank_top"]["n"] == 8 and result["plain_python_pair_loop"]["n"] == 3
    ratio = result["plain_python_pair_loop"]["p50_ms"] / result["rank_top"]["p50_ms"]
    assert result["speedup_p50"] == ratio
    table = markdown(result)
    assert "plain-Python per-pair loop" in table and "| 8 |" in table


def test_main_writes_json_and_markdown(tmp_path: Path) -> None:
    args = ["-o", str(tmp_path), "--referrals", "20", "--beds", "30", "--samples", "4"]
    args += ["--baseline-samples", "2", "--full-samples", "2"]
    assert main(args) == 0
    saved = json.loads((tmp_path / "rank_latency.json").read_text())
    assert (tmp_path / "rank_latency.md").read_text() == markdown(saved)


def test_a_family_is_measured_instance_by_instance(tmp_path: Path) -> None:
    args = ["-o", str(tmp_path), "--family", "varied_small", "--instances", "3", "--samples", "4"]
    assert main(args) == 0
    saved = json.loads((tmp_path / "rank_latency_family.json").read_text())
    assert saved["family"] == "varied_small" and len(saved["instances"]) == 3
    assert saved["meets_target"] == all(r["meets_target"] for r in saved["instances"])
    table = (tmp_path / "rank_latency_family.md").read_text()
    assert table == family_markdown(saved) and "varied_small-2001" in table
