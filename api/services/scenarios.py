"""Scenarios in the service: made from the live portfolio, changed, run in the background.

A scenario keeps a snapshot of the live portfolio as it stood when it was made (units,
bed-spaces, teams, the people placed and waiting, and every referral the service holds as the
mix of people referred), so its figures do not drift as the live data changes, and a re-run
with the same seed gives the same figures. Runs go to the replication engine
(`capacity.replications`): local worker processes, or a Dask cluster by address. The
request returns at once; the run's progress and figures are stored on the scenario's row.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.config import Settings
from api.orm import ReferralRow, ScenarioRow
from api.security import Principal
from api.services import audit
from api.services.assemble import build_problem
from api.services.errors import Conflict, NotFound
from api.services.scenario_plan import (
    LivePortfolio,
    ScenarioPlan,
    given_portfolio,
    parse_plan,
    scenario_of,
)
from capacity.replications import ScenarioSummary, run_replications
from matcher.errors import Issue, ProblemInvalid
from matcher.model import Problem, Referral

# The live rate of referrals is taken over this many days before the scenario's date.
DEMAND_WINDOW_DAYS = 90
COMPARE_MAX = 4
RUNNING = ("queued", "running")
# Progress is written at most this often: a replication can take milliseconds.
PROGRESS_EVERY_S = 0.3
NAME_MAX = 200
INTERRUPTED = "interrupted: the service stopped before the run finished; run it again"


def live_portfolio(session: Session, as_of: date) -> LivePortfolio:
    """The live portfolio now, with every referral held as the mix of people referred and
    the rate they arrived at over the last `DEMAND_WINDOW_DAYS` (None: none arrived)."""
    served = build_problem(session, as_of)
    problem = Problem.model_validate(served.model_dump(include=set(Problem.model_fields)))
    referrals = [
        Referral.model_validate(row, from_attributes=True)
        for row in session.scalars(select(ReferralRow).order_by(ReferralRow.id))
    ]
    since = as_of - timedelta(days=DEMAND_WINDOW_DAYS)
    recent = sum(since <= r.referred < as_of for r in referrals)
    return LivePortfolio(
        problem=problem,
        templates=tuple(referrals),
        referrals_per_day=recent / DEMAND_WINDOW_DAYS if recent else None,
    )


def _name(value: Any, loc: tuple[str, ...] = ("body", "name")) -> str:
    name = str(value).strip() if isinstance(value, str) else ""
    if not name or len(name) > NAME_MAX or any(ord(c) < 32 for c in name):
        raise ProblemInvalid([Issue(loc, f"give a name of 1 to {NAME_MAX} plain characters")])
    return name


def create(
    session: Session, user: Principal, as_of: date, name: Any, plan: Any = None
) -> ScenarioRow:
    """A scenario on the live portfolio as it is now, with `plan`'s changes (checked)."""
    checked = parse_plan(plan)
    live = live_portfolio(session, as_of)
    given_portfolio(live, checked)  # refuses an unsafe change before anything is stored
    row = ScenarioRow(
        name=_name(name),
        created_by=user.username,
        created_at=audit.now(),
        as_of=as_of,
        live=live.model_dump(mode="json"),
        plan=checked.model_dump(mode="json", exclude_defaults=True),
        status="draft",
        progress=0.0,
        message="not run yet",
    )
    session.add(row)
    session.flush()
    audit.record(session, user, "create", "scenario", str(row.id), row.name)
    session.commit()
    return row


def get(session: Session, scenario_id: int) -> ScenarioRow:
    row = session.get(ScenarioRow, scenario_id)
    if row is None:
        raise NotFound("scenario", scenario_id)
    return row


def list_scenarios(session: Session, limit: int = 100) -> list[ScenarioRow]:
    return list(session.scalars(select(ScenarioRow).order_by(ScenarioRow.id.desc()).limit(limit)))


def plan_of(row: ScenarioRow) -> ScenarioPlan:
    return ScenarioPlan.model_validate(row.plan)


def live_of(row: ScenarioRow) -> LivePortfolio:
    return LivePortfolio.model_validate(row.live)


def change(
    session: Session, user: Principal, scenario_id: int, name: Any = None, plan: Any = None
) -> ScenarioRow:
    """A new name or plan (the plan replaces the old one whole); figures of the old plan no
    longer describe it, so they are cleared."""
    row = get(session, scenario_id)
    if row.status in RUNNING:
        raise Conflict(f"scenario {scenario_id} is running; change it when the run has finished")
    if name is not None:
        row.name = _name(name)
    if plan is not None:
        checked = parse_plan(plan)
        given_portfolio(live_of(row), checked)
        new = checked.model_dump(mode="json", exclude_defaults=True)
        if new != row.plan:
            row.plan = new
            row.figures, row.status, row.progress = None, "draft", 0.0
            row.message = "changed since its last run" if row.ran_at else "not run yet"
    audit.record(session, user, "update", "scenario", str(row.id), row.name)
    session.commit()
    return row


def start(
    session: Session,
    factory: sessionmaker[Session],
    executor: Executor,
    settings: Settings,
    user: Principal,
    scenario_id: int,
    stopping: threading.Event | None = None,
) -> ScenarioRow:
    """Queue a run of the scenario and return at once; the figures follow on the row."""
    row = get(session, scenario_id)
    if row.status in RUNNING:
        raise Conflict(f"scenario {scenario_id} is already {row.status}")
    plan = plan_of(row)
    row.status, row.progress, row.message = "queued", 0.0, "waiting to start"
    row.ran_by, row.ran_at, row.finished_at = user.username, audit.now(), None
    row.seed = plan.seed
    audit.record(session, user, "run", "scenario", str(row.id), f"seed {plan.seed}")
    session.commit()
    executor.submit(execute, factory, settings, row.id, stopping)
    return row


def _set(factory: sessionmaker[Session], scenario_id: int, **values: object) -> None:
    with factory() as session:
        session.execute(update(ScenarioRow).where(ScenarioRow.id == scenario_id).values(**values))
        session.commit()


class RunStopped(Exception):
    """The service is stopping: the run ends after the replication under way."""


def execute(
    factory: sessionmaker[Session],
    settings: Settings,
    scenario_id: int,
    stopping: threading.Event | None = None,
) -> None:
    """Run the scenario's replications and store its figures; never raises (a failure is
    stored on the row with what went wrong). Once `stopping` is set, the run ends at the next
    replication and is stored as interrupted."""
    try:
        with factory() as session:
            row = get(session, scenario_id)
            name, plan, live = row.name, plan_of(row), live_of(row)
        given = given_portfolio(live, plan)
        scenario = scenario_of(name, plan, live)
        _set(factory, scenario_id, status="running", progress=0.0, message="starting")
        last = [0.0]

        def report(done: int, total: int) -> None:
            if stopping is not None and stopping.is_set():
                raise RunStopped()
            now = time.monotonic()
            if done < total and now - last[0] < PROGRESS_EVERY_S:
                return
            last[0] = now
            _set(
                factory,
                scenario_id,
                progress=round(0.99 * done / total, 3),
                message=f"{done} of {total} replications",
            )

        started = time.perf_counter()
        (summary,) = run_replications(
            [scenario],
            plan.replications,
            workers=settings.scenario_workers,
            cluster=settings.dask_scheduler or None,
            progress=False,
            given=[given],
            on_progress=report,
        )
        seconds = time.perf_counter() - started
        _set(
            factory,
            scenario_id,
            status="done",
            progress=1.0,
            message=f"{summary.replications} replications of {summary.horizon_days} days",
            figures=stored_figures(summary),
            run_seconds=round(seconds, 3),
            finished_at=audit.now(),
        )
    except BaseException as error:  # noqa: BLE001 - a failed run is a stored result
        message = str(error) if isinstance(error, ProblemInvalid) else type(error).__name__
        message = INTERRUPTED if isinstance(error, RunStopped) else f"the run failed: {message}"
        _set(factory, scenario_id, status="failed", message=message, finished_at=audit.now())


def stored_figures(summary: ScenarioSummary) -> dict[str, Any]:
    """The run's figures as stored: everything but the time it took, which differs from run
    to run although the figures do not."""
    return summary.model_dump(mode="json", exclude={"seconds_per_replication"})


def summary_of(row: ScenarioRow) -> ScenarioSummary | None:
    """The stored figures as a summary, named by the scenario's number and name (two
    scenarios may share a name)."""
    if not row.figures:
        return None
    zero = {"mean": None, "low": None, "high": None, "n": 0}
    data = {**row.figures, "seconds_per_replication": zero, "scenario": f"{row.id}. {row.name}"}
    return ScenarioSummary.model_validate(data)


def finished(session: Session, ids: Sequence[int]) -> list[tuple[ScenarioRow, ScenarioSummary]]:
    """The scenarios asked for, in that order, each with its figures; without ids, the
    latest scenarios that have figures. More than `COMPARE_MAX`, an unknown scenario or one
    not run yet is a 422 naming the query's `ids`."""
    if len(ids) > COMPARE_MAX:
        raise ProblemInvalid([Issue(("query", "ids"), f"compare at most {COMPARE_MAX} scenarios")])
    if not ids:
        query = select(ScenarioRow).where(ScenarioRow.status == "done")
        latest = session.scalars(query.order_by(ScenarioRow.id.desc()).limit(COMPARE_MAX))
        return [(row, summary) for row in latest if (summary := summary_of(row)) is not None]
    found, issues = [], []
    for i, scenario_id in enumerate(dict.fromkeys(ids)):
        row = session.get(ScenarioRow, scenario_id)
        summary = summary_of(row) if row is not None else None
        if row is None:
            issues.append(Issue(("query", "ids", i), f"no scenario {scenario_id}"))
        elif summary is None:
            issues.append(
                Issue(
                    ("query", "ids", i), f"scenario {scenario_id} has no figures yet: run it first"
                )
            )
        else:
            found.append((row, summary))
    if issues:
        raise ProblemInvalid(issues)
    return found


def mark_interrupted(session: Session) -> int:
    """At start: runs left queued or running by a stopped service failed; say so."""
    result = session.execute(
        update(ScenarioRow)
        .where(ScenarioRow.status.in_(RUNNING))
        .values(
            status="failed",
            message=INTERRUPTED,
            finished_at=audit.now(),
        )
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
