"""Benchmarks: seeded instance families, the `bedmatch bench` runner, tables and the verdict.

`families` names the instances, `mask` and `solves` measure, `runner` runs a family (each
measurement in its own process) into `results.json`, `report` turns that JSON into Markdown,
and `verdict` decides whether a run shows a correctness or quality regression. Scripts other
parts contribute (`rank_latency`, `simulation_speed`, `service_load`) expose `run(...) -> dict`
and are called by the runner when present.
"""
