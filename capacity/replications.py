"""Replications of scenarios in parallel, and their figures with confidence intervals.

Replications are independent runs (seeds differ by replication number), so they spread over
workers with nothing shared: on all local cores through a process pool, or on a Dask
distributed cluster given by address (`tcp://scheduler:8786`) or as a cluster object (a
`LocalCluster` in tests). The same task function runs either way, and a tqdm progress bar
counts finished replications as they come back, in whatever order.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import statistics
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from pydantic import BaseModel, ConfigDict
from tqdm import tqdm

from capacity.portfolio import GivenPortfolio
from capacity.scenario import Scenario
from capacity.simulation import ReplicationResult, Simulation, Solver
from capacity.statistics import Estimate, estimate, relative_half_width

COHORT_METRICS = (
    "arrivals",
    "placed",
    "never_placed",
    "never_placed_share",
    "still_waiting_share",
    "wait_everyone_p50_days",
    "wait_everyone_p90_days",
    "wait_p50_days",
    "wait_p90_days",
    "wait_mean_days",
    "occupancy_share",
    "los_breaches",
    "women_safe_placement_share",
)
SHARES = frozenset(m for m in COHORT_METRICS if m.endswith("_share"))
WAITS = frozenset(m for m in COHORT_METRICS if m.startswith("wait_"))


def _possible_range(metric: str, horizon_days: int) -> tuple[float, float]:
    """Where a figure can lie at all: a share in [0, 1], a wait within the horizon, a count
    at or above zero."""
    if metric in SHARES:
        return 0.0, 1.0
    if metric in WAITS:
        return 0.0, float(horizon_days)
    return 0.0, math.inf


class ScenarioSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    scenario: str
    replications: int
    warmup_days: int = 0
    # The relative half-width the headline figures' intervals were run to (None: a fixed
    # number of replications), and whether it was reached before the cap.
    precision: float | None = None
    precision_reached: bool | None = None
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


def _over_replications(values: list[float | None], metric: str, horizon_days: int) -> Estimate:
    """A figure's estimate over replications. A wait some replications never reached (too
    few placed within the horizon) is not reached: averaging only the replications that
    reached it would report the lucky ones. `n` then counts those that did."""
    if metric in WAITS and None in values:
        reached = sum(v is not None for v in values)
        return Estimate(mean=None, low=None, high=None, n=reached)
    return estimate(values, *_possible_range(metric, horizon_days))


def summarise(scenario: Scenario, results: Sequence[ReplicationResult]) -> ScenarioSummary:
    if not results:
        raise ValueError("no replications to summarise")
    first = results[0]
    cohorts = {
        name: {
            metric: _over_replications(
                [getattr(r.cohorts[name], metric) for r in results], metric, first.horizon_days
            )
            for metric in COHORT_METRICS
        }
        for name in first.cohorts
    }
    days = len(first.daily_occupancy)
    return ScenarioSummary(
        scenario=scenario.name,
        replications=len(results),
        warmup_days=scenario.warmup_days,
        backend=first.backend,
        horizon_days=first.horizon_days,
        bedspaces=first.bedspaces,
        women_only_share=first.women_only_share,
        women_safe_share=first.women_safe_share,
        occupancy=estimate((r.occupancy for r in results), 0.0, 1.0),
        los_breaches=estimate(r.cohorts["all"].los_breaches for r in results),
        cohorts=cohorts,
        daily_occupancy=[
            statistics.fmean(r.daily_occupancy[d] for r in results) for d in range(days)
        ],
        waiting_list=[statistics.fmean(r.waiting_list[d] for r in results) for d in range(days)],
        seconds_per_replication=estimate(r.wall_seconds for r in results),
    )


def replicate(
    scenario: Scenario,
    replication: int,
    solver: Solver | None = None,
    given: GivenPortfolio | None = None,
) -> ReplicationResult:
    """One replication: the task every worker runs."""
    return Simulation(scenario, replication, solver=solver, given=given).run()


Task = tuple[int, int]  # (scenario index, replication number)


# The figures a precision target is held to: the portfolio's occupancy and the median wait
# of everyone referred (those not reached within the horizon are not held to it).
HEADLINE = ("occupancy", "wait_everyone_p50_days")


def headline_precision(summary: ScenarioSummary) -> float:
    """The widest relative half-width among the headline figures' intervals."""
    figures = [summary.occupancy, summary.cohorts["all"]["wait_everyone_p50_days"]]
    widths = [relative_half_width(f) for f in figures if f.mean is not None]
    known = [w for w in widths if w is not None]
    return max(known) if len(known) == len(widths) and known else math.inf


def run_replications(
    scenarios: Sequence[Scenario],
    replications: int,
    *,
    workers: int | None = None,
    cluster: Any = None,
    progress: bool = True,
    solver: Solver | None = None,
    precision: float | None = None,
    max_replications: int = 100,
    given: Sequence[GivenPortfolio | None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[ScenarioSummary]:
    """Run `replications` of every scenario and summarise each, in the scenarios' order.

    With a `precision`, more replications follow, a batch at a time, for each scenario whose
    headline intervals (`HEADLINE`) are wider than that share of their mean, until they are
    narrow enough or `max_replications` have run; each summary says which.

    `cluster` is a Dask scheduler address or a Dask cluster object; without one, `workers`
    local processes run the replications (all cores by default; 1 runs them in this process).
    `given` holds, per scenario, the portfolio it runs on where it is not generated.
    `on_progress(done, total)` is called as each replication comes back.
    """
    if replications < 1:
        raise ValueError("replications must be at least 1")
    if precision is not None and not precision > 0:
        raise ValueError("precision must be above 0")
    cap = max(replications, max_replications) if precision is not None else replications
    batch = max(1, workers or os.cpu_count() or 1) if cluster is None else replications
    results: dict[Task, ReplicationResult] = {}
    count = dict.fromkeys(range(len(scenarios)), 0)
    portfolios = list(given) if given is not None else [None] * len(scenarios)
    if len(portfolios) != len(scenarios):
        raise ValueError("given must hold one entry per scenario")
    bar = tqdm(desc="replications", unit="run", disable=not progress)
    with bar:
        tasks = [(s, r) for s in count for r in range(replications)]
        while tasks:
            bar.total = (bar.total or 0) + len(tasks)
            for task, result in _execute(scenarios, tasks, workers, cluster, solver, portfolios):
                results[task] = result
                bar.update()
                if on_progress is not None:
                    on_progress(len(results), bar.total)
            for s, _ in tasks:
                count[s] += 1
            tasks = []
            if precision is None:
                break
            for s, scenario in enumerate(scenarios):
                summary = summarise(scenario, [results[(s, r)] for r in range(count[s])])
                if headline_precision(summary) > precision and count[s] < cap:
                    more = range(count[s], min(cap, count[s] + batch))
                    tasks += [(s, r) for r in more]
    summaries = []
    for s, scenario in enumerate(scenarios):
        summary = summarise(scenario, [results[(s, r)] for r in range(count[s])])
        if precision is not None:
            reached = headline_precision(summary) <= precision
            summary = summary.model_copy(
                update={"precision": precision, "precision_reached": reached}
            )
        summaries.append(summary)
    return summaries


def _execute(
    scenarios: Sequence[Scenario],
    tasks: list[Task],
    workers: int | None,
    cluster: Any,
    solver: Solver | None,
    given: Sequence[GivenPortfolio | None],
) -> Iterator[tuple[Task, ReplicationResult]]:
    if cluster is not None:
        yield from _on_dask(scenarios, tasks, cluster, solver, given)
        return
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(tasks) == 1:
        for s, r in tasks:
            yield (s, r), replicate(scenarios[s], r, solver, given[s])
        return
    with ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)), mp_context=_process_context()
    ) as pool:
        futures = {
            pool.submit(replicate, scenarios[s], r, solver, given[s]): (s, r) for s, r in tasks
        }
        for future in as_completed(futures):
            yield futures[future], future.result()


def _process_context() -> multiprocessing.context.BaseContext | None:
    """How worker processes start. Forking a process that runs other threads (the web
    service) copies locks those threads may hold, and a child can hang on one; such a
    process forks its workers from a fork server instead: one clean process, started once,
    with the simulation already imported, so only the first run pays for the imports. The
    solver stack (`matcher.solve`: OR-Tools, PuLP, HiGHS, networkx; 364 modules) is imported
    lazily by the first allocation of a replication: preloaded too, or every worker of every
    run imported it again (0.8 s each; a run of 4 short replications on 2 workers took 2.6 s
    against 1.65 s forked from a parent that had them)."""
    if threading.active_count() == 1:
        return None
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["capacity.replications", "matcher.solve"])
    return context


def _on_dask(
    scenarios: Sequence[Scenario],
    tasks: list[Task],
    cluster: Any,
    solver: Solver | None,
    given: Sequence[GivenPortfolio | None],
) -> Iterator[tuple[Task, ReplicationResult]]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    with Client(cluster) as client:
        futures = {
            client.submit(replicate, scenarios[s], r, solver, given[s], pure=False): (s, r)
            for s, r in tasks
        }
        for future in dask_completed(futures):
            yield futures[future], future.result()
