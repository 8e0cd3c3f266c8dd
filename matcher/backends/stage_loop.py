"""The lexicographic stage loop of every exact backend: bands 5 to 1, then the soft points.

Each stage is maximised with the bands before it held at their counts. The loop keeps what
every backend shares: the incumbent and its warm starts, each stage's proven ceiling
(`StageCeilings`) and bound, the stage log (`matcher.progress`), the rule that a stage not
finished in time ends the run (a band the strategy cannot prove in time is held open
instead), and the decoded result. How a stage is solved is the backend's `StageStrategy`.
"""

from __future__ import annotations

import time

import numpy as np

from matcher.backends.base import BANDS_PROVEN_S, BackendResult
from matcher.backends.classes import Instance
from matcher.backends.piece_outcome import PieceOutcome
from matcher.backends.reduced_model import ModelLayout, decode
from matcher.backends.relaxation import StageCeilings, trivial_stage_bounds
from matcher.backends.stage_run import StageRun
from matcher.backends.stage_strategy import PROVING, StagePiece, StageStart, StageStrategy
from matcher.backends.submodel import SparseModel, restrict
from matcher.objective import SOFT, stages
from matcher.progress import stage_entry

# Less time than this left, a stage is not started.
LAST_SECONDS = 0.05


def new_run(
    inst: Instance,
    layout: ModelLayout,
    full: SparseModel,
    best: np.ndarray,
    began: float,
    every_pair_active: bool = False,
) -> StageRun:
    """A run from the incumbent `best`; `every_pair_active` gives every stage the whole model
    (the cohort floors couple the bands)."""
    pair_priority = inst.tables.referrals.priority[inst.pair_ref]
    active = np.ones(inst.n_pairs, dtype=bool) if every_pair_active else inst.pair_group_priority()
    return StageRun(
        inst=inst,
        layout=layout,
        full=full,
        best=best,
        ceilings=StageCeilings(inst, trivial_stage_bounds(inst)),
        stages=stages(pair_priority, inst.pair_points, active),
        began=began,
    )


def run_stages(run: StageRun, strategy: StageStrategy, deadline: float, soft_gap: float) -> None:
    """Solve the stages from `run.index` on until all are done or time stops one (then
    `run.stopped`); the strategy's work beside the loop may send the run back."""
    try:
        while True:
            while run.index < len(run.stages):
                if strategy.between_stages(run, deadline):
                    continue
                run.note_bands_proven()
                if not _next_stage(run, strategy, deadline, soft_gap):
                    break
            if not strategy.after_stages(run, deadline):
                break
    finally:
        strategy.close(run)
    run.note_bands_proven()


def stage_result(run: StageRun, detail: dict[str, object]) -> BackendResult:
    """The run's allocation, the bounds it proved, its stage log and `detail`."""
    logged: dict[str, object] = {"stages": run.stage_log, **detail}
    if run.bands_proven_at is not None:
        logged[BANDS_PROVEN_S] = round(run.bands_proven_at - run.began, 3)
    return BackendResult(
        placements=decode(run.inst, run.layout, run.best),
        stage_bounds=run.bounds,
        timed_out=run.stopped or bool(run.open_stages),
        detail=logged,
    )


def _next_stage(run: StageRun, strategy: StageStrategy, deadline: float, soft_gap: float) -> bool:
    """Solve, hold open or leave to a proof elsewhere the stage at `run.index`. Returns whether
    the run goes on (not when time stopped the stage: `run.stopped`)."""
    stage = run.stages[run.index]
    band = stage.name != SOFT
    entry = stage_entry(stage.name, run.began)
    run.stage_log.append(entry)
    nz = np.flatnonzero(stage.coefficients)
    value = int(stage.coefficients[nz] @ run.best[nz])
    start = strategy.start(run, deadline, StageStart(value, run.ceilings.of(stage.name)), entry)
    value, ceiling = start.value, start.ceiling
    if not band and start.soft_ceiling_proven:
        run.bounds[SOFT] = ceiling
        entry.update(value=value, bound=ceiling)
        if value >= ceiling * (1 - soft_gap):
            run.index += 1
            return True
    if band and value >= ceiling:
        # The start meets a proven ceiling.
        entry.update(value=value, skipped=True)
        run.bounds[stage.name] = value
        run.hold(value)
        return True
    remaining = deadline - time.perf_counter()
    if band:
        # The ceiling is proven with the bands above held: reported if the run stops here.
        run.bounds[stage.name] = ceiling
    if remaining <= LAST_SECONDS or not (start.provable or band):
        run.stopped = True
        return False
    if not start.provable:
        # Nothing proves this band in time: it is held open at its best count, and the later
        # stages still improve the allocation in the time left.
        run.open_stages.add(run.index)
        entry.update(value=value, bound=ceiling, status="OPEN")
        run.hold(value)
        return True
    free = np.ones(run.full.n_vars, dtype=bool)
    free[: run.layout.n_pairs] = stage.active
    sub = restrict(run.full, free, np.zeros(run.full.n_vars, dtype=np.int64))
    gap = 0.0 if band else soft_gap
    piece = StagePiece(run, stage, sub, value, ceiling, gap, entry, deadline)
    out = strategy.solve(piece, remaining)
    if out.status == PROVING:
        # A proof the backend could not start at once (no room for it) left the band open.
        status = PROVING if run.index in run.proved_elsewhere else "OPEN"
        entry.update(status=status, variables=len(sub.free), value=value)
        run.hold(value)
        return True
    return _take(run, strategy, piece, out)


def _take(run: StageRun, strategy: StageStrategy, piece: StagePiece, out: PieceOutcome) -> bool:
    """Take a stage's exact solve into the run: a better incumbent, the stage's bound, and the
    stage held (a band) or done (the soft points). Returns whether the run goes on."""
    stage, value, ceiling, gap = piece.stage, piece.value, piece.ceiling, piece.gap
    band = stage.name != SOFT
    piece.entry.update(
        status=out.status, seconds=round(out.seconds, 3), variables=len(piece.sub.free)
    )
    if out.values is None:
        if band:
            run.bounds[stage.name] = max(min(out.bound, ceiling), value)
        run.stopped = True  # no solution in time (or an unexpected status)
        return False
    values = piece.sub.expand(out.values)
    nz = np.flatnonzero(stage.coefficients)
    found = int(stage.coefficients[nz] @ values[nz])
    if found > value:  # on a tie the earlier solution is better for later stages
        run.best, value = strategy.completed(run, values), found
    run.bounds[stage.name] = max(min(out.bound, ceiling), value)
    piece.entry.update(value=value, bound=run.bounds[stage.name])
    done = (
        out.optimal
        or (band and value >= ceiling)
        or (gap > 0 and value >= run.bounds[stage.name] * (1 - gap))
    )
    if not done:
        run.stopped = True
        return False
    if out.optimal or band:
        run.bounds[stage.name] = value
    if band:
        run.hold(value)
    else:
        run.index += 1
    return True
