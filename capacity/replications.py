"""Replications of scenarios in parallel, and their figures with confidence intervals.

Replications are independent runs (seeds differ by replication number), so they spread over
workers with nothing shared: on all local cores through a process pool, or on a Dask
distributed cluster given by address (`tcp://scheduler:8786`) or as a cluster object (a
`LocalCluster` in tests). The same task function runs either way, and a tqdm progress bar
counts finished replications as they come back, in whatever order.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from pydantic import BaseModel, ConfigDict
from tqdm import tqdm

from capacity.scenario import Scenario
from capacity.simulation import ReplicationResult, Simulation, Solver

# Two-sided 95% Student t quantiles by degrees of freedom; 1.96 beyond the table.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip

COHORT_METRICS = (
    "arrivals",
    "placed",
    "never_placed",
    "never_placed_share",
    "wait_p50_days",
    "wait_p90_days",
    "wait_mean_days",
    "occupancy_share",
    "los_breaches",
    "women_safe_placement_share",
)


class Estimate(BaseModel):
    """A mean over replications with its 95% confidence interval (None where no value)."""

    model_config = ConfigDict(frozen=True)

    mean: float | None
    low: float | None
    high: float | None
    n: int


def estimate(values: Iterable[float | None]) -> Estimate:
    present = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not present:
        return Estimate(mean=None, low=None, high=None, n=0)
    mean = statistics.fmean(present)
    if len(present) == 1:
        return Estimate(mean=mean, low=None, high=None, n=1)
    df = len(present) - 1
    t = _T95[df - 1] if df <= len(_T95) else 1.96
    half = t * statistics.stdev(present) / math.sqrt(len(present))
    return Estimate(mean=mean, low=mean - half, high=mean + half, n=len(present))


class ScenarioSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    scenario: str
    replications: int
    backend: str
    horizon_days: int
    bedspaces: int
    women_only_share: float
    women_safe_share: float
    occupancy: Estimate
    los_breaches: Estimate
    cohorts: dict[str, dict[str, Estimate]]
    daily_occupancy: list[float]  # mean over replications, day by day
    waiting_list: list[float]
    seconds_per_replication: Estimate


def summarise(scenario: Scenario, results: Sequence[ReplicationResult]) -> ScenarioSummary:
    if not results:
        raise ValueError("no replications to summarise")
    first = results[0]
    cohorts = {
        name: {
            metric: estimate(getattr(r.cohorts[name], metric) for r in results)
            for metric in COHORT_METRICS
        }
        for name in first.cohorts
    }
    days = len(first.daily_occupancy)
    return ScenarioSummary(
        scenario=scenario.name,
        replications=len(results),
        backend=first.backend,
        horizon_days=first.horizon_days,
        bedspaces=first.bedspaces,
        women_only_share=first.women_only_share,
        women_safe_share=first.women_safe_share,
        occupancy=estimate(r.occupancy for r in results),
        los_breaches=estimate(r.cohorts["all"].los_breaches for r in results),
        cohorts=cohorts,
        daily_occupancy=[
            statistics.fmean(r.daily_occupancy[d] for r in results) for d in range(days)
        ],
        waiting_list=[statistics.fmean(r.waiting_list[d] for r in results) for d in range(days)],
        seconds_per_replication=estimate(r.wall_seconds for r in results),
    )


def replicate(
    scenario: Scenario, replication: int, solver: Solver | None = None
) -> ReplicationResult:
    """One replication: the task every worker runs."""
    return Simulation(scenario, replication, solver=solver).run()


Task = tuple[int, int]  # (scenario index, replication number)


def run_replications(
    scenarios: Sequence[Scenario],
    replications: int,
    *,
    workers: int | None = None,
    cluster: Any = None,
    progress: bool = True,
    solver: Solver | None = None,
) -> list[ScenarioSummary]:
    """Run `replications` of every scenario and summarise each, in the scenarios' order.

    `cluster` is a Dask scheduler address or a Dask cluster object; without one, `workers`
    local processes run the replications (all cores by default; 1 runs them in this process).
    """
    if replications < 1:
        raise ValueError("replications must be at least 1")
    tasks: list[Task] = [(s, r) for s in range(len(scenarios)) for r in range(replications)]
    results: dict[Task, ReplicationResult] = {}
    bar = tqdm(total=len(tasks), desc="replications", unit="run", disable=not progress)
    with bar:
        for task, result in _execute(scenarios, tasks, workers, cluster, solver):
            results[task] = result
            bar.update()
    return [
        summarise(scenario, [results[(s, r)] for r in range(replications)])
        for s, scenario in enumerate(scenarios)
    ]


def _execute(
    scenarios: Sequence[Scenario],
    tasks: list[Task],
    workers: int | None,
    cluster: Any,
    solver: Solver | None,
) -> Iterator[tuple[Task, ReplicationResult]]:
    if cluster is not None:
        yield from _on_dask(scenarios, tasks, cluster, solver)
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(tasks) == 1:
        for s, r in tasks:
            yield (s, r), replicate(scenarios[s], r, solver)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(tasks))) as pool:
        futures = {pool.submit(replicate, scenarios[s], r, solver): (s, r) for s, r in tasks}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _on_dask(
    scenarios: Sequence[Scenario], tasks: list[Task], cluster: Any, solver: Solver | None
) -> Iterator[tuple[Task, ReplicationResult]]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(cluster) as client:
        futures = {
            client.submit(replicate, scenarios[s], r, solver, pure=False): (s, r) for s, r in tasks
        }
        for future in dask_completed(futures):
            yield futures[future], future.result()
