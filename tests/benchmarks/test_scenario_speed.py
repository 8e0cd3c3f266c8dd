"""The scenario speed benchmark's table says each path's time and whether the target is met."""

from __future__ import annotations

from benchmarks.scenario_speed import markdown


def test_the_table_puts_the_service_beside_the_engine() -> None:
    record = {
        "git_sha": "abcdef1234567890",
        "machine": "test",
        "cores": 2,
        "days": 365,
        "bedspaces": 1000,
        "replications": 20,
        "service_seconds": 58.0,
        "service_run_seconds": 56.5,
        "single_process_seconds": 110.0,
        "engine_seconds": 55.0,
        "service_vs_engine": 56.5 / 55.0,
        "same_figures": True,
        "target_seconds": 60.0,
        "meets_target": True,
    }
    table = markdown(record)
    assert "| through the service (request to done) | 58.0 | 60 | yes |" in table
    assert "| the same replications in one process | 110.0 | | |" in table
    assert "The service adds 1.5 s around its replications" in table
    assert "Same figures as in process: yes." in table
