"""`bedmatch simulate --stored ID`: a scenario stored in the service's database, run here.

The same replications the service runs for it (its snapshot of the live portfolio, its plan
and seed), without the service: an administrator re-runs one on a machine of their choice,
and the scenario benchmark times the service against it. Nothing is written to the database.
"""

from __future__ import annotations

import os
import time
from typing import Any

from sqlalchemy.exc import ArgumentError, OperationalError

from api.cli import UsageError
from api.commands.serve import URL_VARIABLES
from api.services.errors import NotFound
from capacity.replications import ScenarioSummary, run_replications


def run_stored(
    database_url: str | None, scenario_id: int, workers: int | None, progress: bool
) -> tuple[ScenarioSummary, float]:
    """The stored scenario's figures, and the seconds its replications took."""
    from api.db import make_engine, make_sessionmaker
    from api.services.scenario_plan import given_portfolio, scenario_of
    from api.services.scenarios import get, live_of, plan_of

    url = database_url or next((os.environ[v] for v in URL_VARIABLES if os.environ.get(v)), "")
    if not url:
        raise UsageError("--database-url: name the service's database (or BEDMATCH_DATABASE_URL)")
    try:
        engine = make_engine(url)
    except ArgumentError:
        raise UsageError("--database-url: not a database URL") from None
    try:
        with make_sessionmaker(engine)() as session:
            row = get(session, scenario_id)
            name, plan, live = row.name, plan_of(row), live_of(row)
    except NotFound:
        raise UsageError(f"--stored: no scenario {scenario_id} in that database") from None
    except OperationalError as error:
        raise UsageError(f"--database-url: the database cannot be used ({error.orig})") from None
    finally:
        engine.dispose()
    given = given_portfolio(live, plan)
    scenario = scenario_of(name, plan, live)
    started = time.perf_counter()
    (summary,) = run_replications(
        [scenario], plan.replications, workers=workers, progress=progress, given=[given]
    )
    return summary, time.perf_counter() - started


def stored_output(scenario_id: int, summary: ScenarioSummary, seconds: float) -> dict[str, Any]:
    """What `--stored` prints: the figures as the service stores them, and the time."""
    from api.services.scenarios import stored_figures

    return {
        "scenario": scenario_id,
        "replication_seconds": round(seconds, 3),
        "figures": stored_figures(summary),
    }
