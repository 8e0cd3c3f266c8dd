"""CP-SAT (OR-Tools), the main backend: the reduced model solved stage by stage.

Each stage of `matcher.objective` (bands 5 to 1, then the soft points) is maximised with the
earlier ones held at their proven values, over only the variables the stage can move. A band
is LP-guided first (its LP bound is a proven ceiling, and the pairs its optimum uses make a
small piece CBC solves exactly), then improved by a neighbourhood search, then proved by CBC,
in a worker process when it is large while the run goes on with the band held at its count.
CP-SAT finds allocations fast but its bound stalls on the bands; CBC's cuts close them. What
was tried and measured is in `benchmarks/NOTES.md` ("Batch solver").
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

import numpy as np

from matcher.backends import floors, mip_prover
from matcher.backends.background_work import (
    await_proofs,
    cpsat_workers,
    launch_proofs,
    settle_proofs,
    start_soft_lp,
    take_soft_lp,
    wait_for_a_core,
)
from matcher.backends.band_search import improve_band
from matcher.backends.base import BANDS_PROVEN_S, BackendResult
from matcher.backends.classes import Assignment3, Instance, build_model, decode, encode
from matcher.backends.greedy import greedy_placements
from matcher.backends.guided_band import lp_guided_band
from matcher.backends.piece_solvers import cbc_maximise, cpsat_maximise
from matcher.backends.relaxation import StageCeilings, trivial_stage_bounds
from matcher.backends.settings import DEFAULT_SETTINGS, SolverSettings
from matcher.backends.stage_plan import StagePlan, plan_stage
from matcher.backends.stage_run import PendingProof, StageAt, StageRun
from matcher.backends.stage_terms import stage_hint, stage_objective
from matcher.backends.submodel import SparseModel, SubModel, restrict
from matcher.objective import SOFT, stages
from matcher.progress import stage_entry


class CpSatBackend:
    """OR-Tools CP-SAT with `num_workers` search workers, CBC proving the band stages; every
    knob is a field of `SolverSettings`."""

    name = "cpsat"

    def __init__(self, settings: SolverSettings = DEFAULT_SETTINGS) -> None:
        # CBC proves band stages where CP-SAT's bound stalls (`matcher.backends.mip_prover`),
        # where OR-Tools carries it.
        if settings.band_prover == "cbc" and not mip_prover.available():
            settings = replace(settings, band_prover="cpsat")
        self.settings = settings

    def available(self) -> bool:
        try:
            from ortools.sat.python import cp_model  # noqa: F401
        except ImportError:
            return False
        return True

    def solve(
        self,
        instance: Instance,
        time_limit_s: float,
        hint: list[Assignment3] | None = None,
    ) -> BackendResult:
        if floors.has_floors(instance):
            maximise = partial(floors.cpsat_maximise, num_workers=self.settings.num_workers)
            return floors.staged_solve(
                instance, time_limit_s, hint, maximise, self.settings.soft_gap
            )
        began = time.perf_counter()
        deadline = began + time_limit_s
        layout = build_model(instance)
        if hint is None:
            hint = greedy_placements(instance)
        pair_priority = instance.tables.referrals.priority[instance.pair_ref]
        run = StageRun(
            inst=instance,
            layout=layout,
            full=SparseModel.of(layout.model),
            best=encode(instance, layout, hint),
            ceilings=StageCeilings(instance, trivial_stage_bounds(instance)),
            stages=stages(pair_priority, instance.pair_points, instance.pair_group_priority()),
        )
        try:
            while True:
                self._run_stages(run, deadline)
                # Every stage is done or stopped: the main core is free for one more proof.
                if not await_proofs(self.settings, run, deadline):
                    break
        finally:
            for pending in run.pending:
                if pending.proof is not None:
                    pending.proof.cancel()
                run.open_stages.add(pending.index)
            if run.soft_lp is not None:
                run.soft_lp.lp.cancel()
        run.note_bands_proven()
        detail: dict[str, object] = {
            "stages": run.stage_log,
            "num_workers": self.settings.num_workers,
        }
        if run.bands_proven_at is not None:
            detail[BANDS_PROVEN_S] = round(run.bands_proven_at - began, 3)
        return BackendResult(
            placements=decode(instance, layout, run.best),
            stage_bounds=run.bounds,
            timed_out=run.stopped or bool(run.open_stages),
            detail={**detail, **layout.size()},
        )

    def _run_stages(self, run: StageRun, deadline: float) -> None:
        """Solve stages from `run.index` on until all are done or time stops one (then
        `run.stopped`). A band proof running in the background may send the run back."""
        while run.index < len(run.stages):
            if settle_proofs(run) or wait_for_a_core(self.settings, run, deadline):
                continue  # a background proof found more: resume after its stage
            run.note_bands_proven()
            launch_proofs(self.settings, run, deadline, self.settings.background_proofs)
            if not self._next_stage(run, deadline):
                return

    def _next_stage(self, run: StageRun, deadline: float) -> bool:
        """Solve, prove, hold open or set aside for a proof the stage at `run.index`.
        Returns whether the run goes on (not when time stopped the stage: `run.stopped`)."""
        settings = self.settings
        stage = run.stages[run.index]
        coefs = stage.coefficients
        nz = np.flatnonzero(coefs)
        value = int(coefs[nz] @ run.best[nz])
        ceiling = run.ceilings.of(stage.name)
        entry = stage_entry(stage.name, run.began)
        run.stage_log.append(entry)
        free = np.ones(run.full.n_vars, dtype=bool)
        free[: run.layout.n_pairs] = stage.active
        plan = plan_stage(settings, stage, int(free.sum()))
        value, ceiling, search_share = self._guided_start(
            run, deadline, plan, value, ceiling, entry
        )
        if stage.name == SOFT and settings.lp_guide:
            # The soft stage's LP bound is the one worth reporting (the trivial one
            # counts every referral in its best unit); with the guided piece's value
            # close enough to it, the stage is done.
            run.bounds[SOFT] = ceiling
            entry.update(value=value, bound=ceiling)
            if value >= ceiling * (1 - settings.soft_gap):
                run.index += 1
                return True
        if stage.name != SOFT and value < ceiling and search_share > 0:
            value = self._search(run, deadline, value, ceiling, search_share, entry)
        if stage.name != SOFT and value >= ceiling:
            # The start (or the neighbourhood search) meets a proven ceiling.
            entry.update(value=value, skipped=True)
            run.bounds[stage.name] = value
            run.hold(value)
            return True
        remaining = deadline - time.perf_counter()
        if stage.name != SOFT:
            # The flow ceiling is proven with the bands above held: report it if we stop.
            run.bounds[stage.name] = ceiling
        if remaining <= 0.05 or (not plan.settled and stage.name == SOFT):
            run.stopped = True
            return False
        if not plan.settled:
            # Nothing will prove this band in time: it is held open at its best count, and
            # the later stages still improve the allocation in what time is left.
            run.open_stages.add(run.index)
            entry.update(value=value, bound=ceiling, status="OPEN")
            run.hold(value)
            return True
        sub = restrict(run.full, free, np.zeros(run.full.n_vars, dtype=np.int64))
        if plan.proved_aside:
            self._prove_aside(run, deadline, sub, value, ceiling, entry)
            return True
        return self._solve_exactly(run, plan, sub, value, ceiling, remaining, entry)

    def _guided_start(
        self,
        run: StageRun,
        deadline: float,
        plan: StagePlan,
        value: int,
        ceiling: int,
        entry: dict[str, object],
    ) -> tuple[int, int, float]:
        """The stage's LP-guided start (`lp_guided_band`): maybe a better incumbent and,
        from the LP bound, a lower ceiling. Returns the value, the ceiling and the part of
        the time left the neighbourhood search may take."""
        settings = self.settings
        stage = run.stages[run.index]
        search_share = plan.search_share
        if plan.held_open and settings.lp_guide and run.index == len(run.stages) - 2:
            start_soft_lp(settings, run, deadline, value, entry)
        ahead = take_soft_lp(run) if stage.name == SOFT else None
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
                workers=cpsat_workers(run, settings),
                wider_share=settings.open_band_share if plan.held_open else None,
                ahead=ahead,
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

    def _search(
        self,
        run: StageRun,
        deadline: float,
        value: int,
        ceiling: int,
        share: float,
        entry: dict[str, object],
    ) -> int:
        """The band's neighbourhood search in `share` of the time left; returns its count."""
        inst, layout = run.inst, run.layout
        budget = (deadline - time.perf_counter()) * share
        run.best, value, rounds, moved = improve_band(
            self.settings,
            StageAt(inst, layout, run.full, run.stages[run.index]),
            run.best,
            value,
            ceiling,
            budget,
            workers=cpsat_workers(run, self.settings),
        )
        entry.update(search_rounds=rounds, search_value=value)
        goes_on = value >= ceiling or deadline - time.perf_counter() > 0.05
        if moved and goes_on:
            # The run goes on: referrals a piece let go (lower bands making way) are
            # added back where they fit, for the later stages' starts. (A run that
            # stops here is filled the same way by `matcher.solve`, after the limit's
            # reserve, not inside the backend's time.)
            completed = greedy_placements(inst, start=decode(inst, layout, run.best))
            run.best = encode(inst, layout, completed)
        return value

    def _prove_aside(
        self,
        run: StageRun,
        deadline: float,
        sub: SubModel,
        value: int,
        ceiling: int,
        entry: dict[str, object],
    ) -> None:
        """Prove the band in a worker process (now, or when one is free) while the run
        goes on with the band held at its count."""
        stage = run.stages[run.index]
        entry.update(status="PROVING", variables=len(sub.free), value=value)
        run.pending.append(
            PendingProof(
                run.index,
                sub,
                stage_objective(stage.coefficients, sub.free),
                value,
                ceiling,
                entry,
                run.full,
                dict(run.ceilings.held),
                stage_hint(run.inst, run.layout, run.best, stage.active)[sub.free],
            )
        )
        launch_proofs(self.settings, run, deadline, self.settings.background_proofs)
        run.hold(value)

    def _solve_exactly(
        self,
        run: StageRun,
        plan: StagePlan,
        sub: SubModel,
        value: int,
        ceiling: int,
        remaining: float,
        entry: dict[str, object],
    ) -> bool:
        """Solve the stage's sub-model in the time `remaining`: CBC proves a band, CP-SAT
        solves the rest. Returns whether the run goes on (not when the stage was not
        finished in time: `run.stopped`)."""
        settings = self.settings
        inst, layout, stage = run.inst, run.layout, run.stages[run.index]
        coefs = stage.coefficients
        nz = np.flatnonzero(coefs)
        gap = settings.soft_gap if stage.name == SOFT else 0.0
        # A band stage that reaches its ceiling is done: no further proof needed.
        target = ceiling if stage.name != SOFT else None
        if stage.name != SOFT and plan.by_cbc:
            # CBC overruns its clock by up to about a second in preprocessing.
            out = cbc_maximise(sub.model, coefs, sub.free, 0.9 * remaining - 0.5)
        else:
            hint_values = stage_hint(inst, layout, run.best, stage.active)
            out = cpsat_maximise(
                settings,
                sub.model,
                coefs,
                sub.free,
                hint_values[sub.free],
                remaining,
                target,
                gap,
                workers=cpsat_workers(run, settings),
            )
        entry.update(status=out.status, seconds=round(out.seconds, 3), variables=len(sub.free))
        if out.values is None:
            if stage.name != SOFT:
                run.bounds[stage.name] = max(min(out.bound, ceiling), value)
            run.stopped = True  # no solution in time (or an unexpected status)
            return False
        values = sub.expand(out.values)
        found = int(coefs[nz] @ values[nz])
        if found > value:  # on a tie the earlier solution is better for later stages
            # Referrals the stage left out are added back greedily for the next hint.
            completed = greedy_placements(inst, start=decode(inst, layout, values))
            run.best, value = encode(inst, layout, completed), found
        run.bounds[stage.name] = max(min(out.bound, ceiling), value)
        entry.update(value=value, bound=run.bounds[stage.name])
        done = (
            out.optimal
            or (target is not None and value >= target)
            or (gap > 0 and value >= run.bounds[stage.name] * (1 - gap))
        )
        if not done:
            run.stopped = True
            return False
        if out.optimal or stage.name != SOFT:
            run.bounds[stage.name] = value
        if stage.name != SOFT:
            run.hold(value)
        else:
            run.index += 1
        return True
