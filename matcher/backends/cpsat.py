"""CP-SAT (OR-Tools), the main backend: the reduced model solved stage by stage.

Each stage of `matcher.objective` (bands 5 to 1, then the soft points) is maximised with the
earlier ones held at their proven values, over only the variables the stage can move, by the
loop every exact backend shares (`matcher.backends.stage_loop`); `CpSatStages` is what CP-SAT
does within a stage. A band is LP-guided first (its LP bound is a proven ceiling, and the
pairs its optimum uses make a small piece CBC solves exactly), then improved by a
neighbourhood search, then proved by CBC, in a worker process when it is large while the run
goes on with the band held at its count. CP-SAT finds allocations fast but its bound stalls
on the bands; CBC's cuts close them. What was tried and measured is in `benchmarks/NOTES.md`
("Batch solver").
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

from matcher.backends import floors, highs_worker, mip_prover
from matcher.backends.background_work import (
    await_proofs,
    launch_proofs,
    settle_proofs,
    wait_for_a_core,
)
from matcher.backends.band_search import search_band
from matcher.backends.base import BackendResult
from matcher.backends.classes import Assignment3, Instance
from matcher.backends.greedy import greedy_placements
from matcher.backends.guided_start import guided_start
from matcher.backends.highs_worker import highs_maximise
from matcher.backends.piece_outcome import PieceOutcome
from matcher.backends.piece_race import race_piece
from matcher.backends.piece_solvers import cbc_maximise, cpsat_maximise, cpsat_maximise_model
from matcher.backends.reduced_model import build_model, encode
from matcher.backends.settings import DEFAULT_SETTINGS, SolverSettings
from matcher.backends.stage_loop import new_run, run_stages, stage_result
from matcher.backends.stage_plan import plan_stage
from matcher.backends.stage_run import StageRun
from matcher.backends.stage_strategy import (
    PROVING,
    StagePiece,
    StageStart,
    StageStrategy,
    maximised,
)
from matcher.backends.stage_terms import stage_objective
from matcher.backends.submodel import SubModel
from matcher.backends.work_aside import PendingProof, WorkAside
from matcher.objective import SOFT, Stage


class CpSatBackend:
    """OR-Tools CP-SAT with `num_workers` search workers, CBC proving the band stages; every
    knob is a field of `SolverSettings`."""

    name = "cpsat"

    def __init__(self, settings: SolverSettings = DEFAULT_SETTINGS) -> None:
        # CBC proves band stages where CP-SAT's bound stalls (`matcher.backends.mip_prover`),
        # where OR-Tools carries it.
        if settings.band_prover == "cbc" and not mip_prover.available():
            settings = replace(settings, band_prover="cpsat")
        if settings.band_mip_solver == "highs" and not highs_worker.available():
            settings = replace(settings, band_mip_solver="cbc")
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
            maximise = partial(cpsat_maximise_model, num_workers=self.settings.num_workers)
            return floors.staged_solve(
                instance, time_limit_s, hint, maximise, self.settings.soft_gap
            )
        began = time.perf_counter()
        layout = build_model(instance)
        if hint is None:
            hint = greedy_placements(instance)
        best = encode(instance, layout, hint)
        run = new_run(instance, layout, layout.sparse(), best, began)
        strategy = CpSatStages(self.settings)
        run_stages(run, strategy, began + time_limit_s, self.settings.soft_gap)
        return stage_result(run, {"num_workers": self.settings.num_workers, **layout.size()})


class CpSatStages(StageStrategy):
    """CP-SAT's way through a stage: an LP-guided start, a neighbourhood search, then CBC's
    proof of a band (in process, or in a worker while the run goes on) or CP-SAT's solve.
    One strategy serves one solve: it keeps that solve's work aside (`WorkAside`)."""

    def __init__(self, settings: SolverSettings) -> None:
        self.settings = settings
        self.aside = WorkAside()

    def between_stages(self, run: StageRun, deadline: float) -> bool:
        aside = self.aside
        if settle_proofs(run, aside) or wait_for_a_core(self.settings, run, aside, deadline):
            return True  # a background proof found more: resume after its stage
        launch_proofs(self.settings, run, aside, deadline, self.settings.background_proofs)
        return False

    def after_stages(self, run: StageRun, deadline: float) -> bool:
        # Every stage is done or stopped: the main core is free for one more proof.
        return await_proofs(self.settings, run, self.aside, deadline)

    def close(self, run: StageRun) -> None:
        aside = self.aside
        for pending in aside.pending:
            if pending.proof is not None:
                pending.proof.cancel()
            run.open_stages.add(pending.index)
        aside.pending.clear()
        run.proved_elsewhere.clear()
        if aside.soft_lp is not None:
            aside.soft_lp.lp.cancel()
            aside.soft_lp = None

    def start(
        self, run: StageRun, deadline: float, start: StageStart, entry: dict[str, object]
    ) -> StageStart:
        """The stage's LP-guided start and, for a band short of its ceiling, the
        neighbourhood search; whether anything can prove the stage in time."""
        stage = run.stages[run.index]
        plan = plan_stage(self.settings, stage, _free_variables(run, stage))
        value, ceiling, search_share = guided_start(
            self.settings, run, self.aside, deadline, plan, start.value, start.ceiling, entry
        )
        if stage.name != SOFT and value < ceiling and search_share > 0:
            workers = self.aside.cpsat_workers(self.settings)
            value = search_band(
                self.settings, run, deadline, value, ceiling, search_share, entry, workers
            )
        # The soft stage's LP bound is the one worth reporting (the trivial one counts
        # every referral in its best unit); with the guided piece's value close enough to
        # it, the stage is done.
        soft_lp = stage.name == SOFT and self.settings.lp_guide
        return StageStart(value, ceiling, plan.settled, soft_ceiling_proven=soft_lp)

    def solve(self, piece: StagePiece, time_left: float) -> PieceOutcome:
        """A band proved in a worker while the run goes on (`PROVING`), or the stage's
        sub-model solved here: CBC proves a band (CP-SAT racing it on a small one), CP-SAT
        solves the rest."""
        plan = plan_stage(self.settings, piece.stage, len(piece.sub.free))
        band = piece.stage.name != SOFT
        if band and plan.by_cbc:
            proved = self._proof_model(piece)
            if plan.proved_aside:
                self._prove_aside(piece, proved)
                return PieceOutcome(PROVING, None, piece.ceiling, 0.0)
            # CBC overruns its clock by up to about a second in preprocessing.
            limit_s = 0.9 * time_left - 0.5
            settings = self.settings
            if settings.band_mip_solver == "highs":
                objective = stage_objective(piece.stage.coefficients, proved.free)
                return maximised(highs_maximise, proved.model, objective, piece.start, limit_s, 0)
            if settings.race_band_proofs and len(proved.free) <= settings.max_race_variables:
                workers = self.aside.cpsat_workers(settings)
                out, by = race_piece(
                    settings, proved, piece.stage.coefficients, piece.start, limit_s, workers
                )
                piece.entry["raced_answer_by"] = by
                return out
            return cbc_maximise(
                proved.model, piece.stage.coefficients, proved.free, limit_s, start=piece.start
            )
        return cpsat_maximise(
            self.settings,
            piece.sub.model,
            piece.stage.coefficients,
            piece.sub.free,
            piece.start,
            time_left,
            # A band stage that reaches its ceiling is done: no further proof needed.
            piece.ceiling if piece.stage.name != SOFT else None,
            piece.gap,
            workers=self.aside.cpsat_workers(self.settings),
        )

    def _proof_model(self, piece: StagePiece) -> SubModel:
        """The band's sub-model with the run's unit cuts (`CutPool`) as rows of it: they hold
        for every allocation, and tighten the relaxation CBC's proof starts from."""
        if not self.settings.proof_cuts:
            return piece.sub
        proved, added = self.aside.cuts.strengthen(piece.sub)
        if added:
            piece.entry["proof_cuts"] = added
        return proved

    def _prove_aside(self, piece: StagePiece, proved: SubModel) -> None:
        """Prove the band (`proved`, its sub-model as the proof sees it) in a worker process
        (now, or when one is free) while the run goes on with the band held at its count."""
        run = piece.run
        run.proved_elsewhere.add(run.index)
        self.aside.pending.append(
            PendingProof(
                run.index,
                proved,
                piece.objective,
                piece.value,
                piece.ceiling,
                piece.entry,
                run.full,
                dict(run.ceilings.held),
                piece.start,
            )
        )
        launch_proofs(
            self.settings, run, self.aside, piece.deadline, self.settings.background_proofs
        )


def _free_variables(run: StageRun, stage: Stage) -> int:
    """The variables of the stage's sub-model: its active pairs and every other variable."""
    return run.full.n_vars - run.layout.n_pairs + int(stage.active.sum())
