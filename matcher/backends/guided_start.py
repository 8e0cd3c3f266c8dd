"""CP-SAT's start of a stage: its LP-guided piece (`matcher.backends.guided_band`), which may
improve the incumbent and lower the stage's ceiling to the LP bound, and the soft stage's LP
started ahead in a worker beside a band held open (`matcher.backends.background_work`)."""

from __future__ import annotations

from matcher.backends.background_work import start_soft_lp, take_soft_lp
from matcher.backends.guided_band import lp_guided_band
from matcher.backends.settings import SolverSettings
from matcher.backends.stage_plan import StagePlan
from matcher.backends.stage_run import StageAt, StageRun
from matcher.backends.work_aside import WorkAside
from matcher.objective import SOFT


def guided_start(
    settings: SolverSettings,
    run: StageRun,
    aside: WorkAside,
    deadline: float,
    plan: StagePlan,
    value: int,
    ceiling: int,
    entry: dict[str, object],
) -> tuple[int, int, float]:
    """The stage's LP-guided start (`lp_guided_band`): maybe a better incumbent and,
    from the LP bound, a lower ceiling. Returns the value, the ceiling and the part of
    the time left the neighbourhood search may take."""
    stage = run.stages[run.index]
    search_share = plan.search_share
    if plan.held_open and settings.lp_guide and run.index == len(run.stages) - 2:
        start_soft_lp(settings, run, aside, deadline, value, entry)
    ahead = take_soft_lp(run, aside) if stage.name == SOFT else None
    if value < ceiling and settings.lp_guide:
        run.best, value, lp_bound = lp_guided_band(
            settings,
            StageAt(run.inst, run.layout, run.full, stage),
            run.best,
            value,
            ceiling,
            deadline,
            entry,
            share=plan.lp_share,
            workers=aside.cpsat_workers(settings),
            wider_share=settings.open_band_share if plan.held_open else None,
            ahead=ahead,
            pool=aside.cuts,
        )
        if lp_bound is not None and lp_bound < ceiling:
            # The LP relaxation of the stage is a proven ceiling too.
            ceiling = max(lp_bound, value)
        if plan.by_cbc and entry.get("lp_guided_status") == "OPTIMAL":
            # The search would only look for what the piece's optimum already
            # gives the proof (as its start, or as the count CBC must reach).
            search_share = 0.0
    if ahead is not None:
        ahead.cancel()  # no-op once its answer is read
    return value, ceiling, search_share
