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

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np

from matcher.backends import cbc_command, floors, mip_prover
from matcher.backends.base import BANDS_PROVEN_S, BackendResult
from matcher.backends.block_bound import block_bound, unit_of_variable
from matcher.backends.classes import (
    Assignment3,
    Instance,
    ModelLayout,
    build_model,
    decode,
    encode,
)
from matcher.backends.greedy import greedy_placements
from matcher.backends.linear import Row
from matcher.backends.lp_worker import BackgroundLp
from matcher.backends.priced_lp import (
    PricedLp,
    best_per_referral,
    priced_lp,
    starting_columns,
)
from matcher.backends.proof_worker import BackgroundProof
from matcher.backends.relaxation import StageCeilings, trivial_stage_bounds
from matcher.backends.settings import DEFAULT_SETTINGS, SolverSettings
from matcher.backends.stage_terms import stage_hint, stage_objective
from matcher.backends.submodel import UNBOUNDED, SparseModel, SubModel, restrict
from matcher.objective import SOFT, Stage, stages
from matcher.progress import stage_entry

INT_MAX = 2**62


@dataclass(frozen=True)
class _UnitBound:
    """A stage's LP bound, to be tightened unit by unit (`matcher.backends.block_bound`)."""

    model: SparseModel
    lower: np.ndarray
    upper: np.ndarray
    objective: np.ndarray
    prices: np.ndarray | None
    point: np.ndarray | None
    unit: np.ndarray
    settings: SolverSettings

    def run(self, value: int, lp_bound: int, seconds: float, entry: dict[str, object]) -> int:
        """The bound, tightened in `seconds` at most until it meets `value`."""
        if self.prices is None or seconds < 0.1:
            return lp_bound
        out = block_bound(
            self.model,
            self.lower,
            self.upper,
            self.objective,
            self.prices,
            self.unit,
            seconds,
            point=self.point,
            enough=value,
            settings=self.settings,
        )
        if out is None or out.units_solved == 0:
            return lp_bound
        entry["unit_bound"] = {
            "bound": round(out.bound, 3),
            "units_solved": out.units_solved,
            "units_tightened": out.units_tightened,
            "seconds": round(out.seconds, 3),
        }
        return min(lp_bound, out.integer_bound)


class _StopAt:
    """Stop the search once a solution reaches a known bound."""

    def __new__(cls, target: int) -> Any:
        from ortools.sat.python import cp_model

        class Callback(cp_model.CpSolverSolutionCallback):
            def on_solution_callback(self) -> None:
                if self.objective_value >= target - 1e-6:
                    self.stop_search()

        return Callback()


class _Outcome:
    """What one CP-SAT solve of a (sub)model gave."""

    def __init__(self, status: str, values: np.ndarray | None, bound: int, seconds: float):
        self.status = status
        self.values = values
        self.bound = bound
        self.seconds = seconds

    @property
    def optimal(self) -> bool:
        return self.status == "OPTIMAL"


@dataclass(frozen=True)
class _StageAt:
    """A stage and the model it is solved on: what every solve of a piece of it reads."""

    inst: Instance
    layout: ModelLayout
    full: SparseModel  # the model with the bands before the stage held at their counts
    stage: Stage


@dataclass
class _Pending:
    """A band stage being proved in the background while later stages go on."""

    index: int  # of the stage
    sub: SubModel  # the stage's sub-model the proof maximises
    objective: np.ndarray  # over the sub-model's variables
    value: int  # the band's count held meanwhile
    ceiling: int
    entry: dict[str, object]  # the stage's log entry
    full_before: SparseModel  # the model and held counts from before the band was held
    held_before: dict[str, int]
    start: np.ndarray  # the incumbent on the sub-model's variables (the proof's start)
    proof: BackgroundProof | None = None  # None while waiting for a free worker


@dataclass
class _SoftLpAhead:
    """The soft stage's LP, started in a worker beside a band held open (`lp_worker`)."""

    lp: BackgroundLp
    held: dict[str, int]  # the band counts its model holds: it bounds any run holding more

    def still_relaxes(self, held: dict[str, int]) -> bool:
        """Whether the run's held counts (`held`) are each at least those the LP assumed, so
        that its bound is a bound for the run's soft stage (a proof that sent the run back
        may have changed them)."""
        return all(held.get(name, -1) >= count for name, count in self.held.items())


@dataclass
class _Run:
    """The state of one stage-by-stage solve."""

    inst: Instance
    layout: ModelLayout
    full: SparseModel  # the model with every band done so far held at its count
    best: np.ndarray  # the incumbent, as values of the model's variables
    ceilings: StageCeilings
    stages: list[Stage]
    index: int = 0  # the stage to solve next
    bounds: dict[str, int] = field(default_factory=dict)
    stage_log: list[dict[str, object]] = field(default_factory=list)
    pending: list[_Pending] = field(default_factory=list)
    stopped: bool = False  # time stopped a stage before it was proven
    # Bands held open: proofs that ended unproven, and stages nothing could prove in time.
    open_stages: set[int] = field(default_factory=set)
    # When the run first had every band stage proven (perf_counter), if it has.
    bands_proven_at: float | None = None
    soft_lp: _SoftLpAhead | None = None
    began: float = field(default_factory=time.perf_counter)

    @property
    def proving(self) -> int:
        """Background proofs running now (not those waiting for a free worker)."""
        return sum(1 for pending in self.pending if pending.proof is not None)

    def note_bands_proven(self) -> None:
        """Note the time if every band stage is now done and proven: a proof in a worker is
        read between stages, so the time noted can be later than the proof's own end."""
        past_bands = all(stage.name == SOFT for stage in self.stages[self.index :])
        if self.bands_proven_at is None and past_bands and not (self.pending or self.open_stages):
            self.bands_proven_at = time.perf_counter()

    def hold(self, value: int) -> None:
        """Hold the current band stage at `value` from here on and move to the next."""
        stage = self.stages[self.index]
        nz = np.flatnonzero(stage.coefficients)
        self.ceilings.hold(stage.name, value)
        self.full = self.full.with_rows([Row(nz, stage.coefficients[nz], value, None)])
        self.index += 1


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
        run = _Run(
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
                if not self._await_proofs(run, deadline):
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

    def _run_stages(self, run: _Run, deadline: float) -> None:
        """Solve stages from `run.index` on until all are done or time stops one (then
        `run.stopped`). A band proof running in the background may send the run back."""
        inst, layout = run.inst, run.layout
        n_pairs = layout.n_pairs
        while run.index < len(run.stages):
            if self._settle(run) or self._wait_for_a_core(run, deadline):
                continue  # a background proof found more: resume after its stage
            run.note_bands_proven()
            self._launch(run, deadline, self.settings.background_proofs)
            stage = run.stages[run.index]
            coefs = stage.coefficients
            nz = np.flatnonzero(coefs)
            value = int(coefs[nz] @ run.best[nz])
            ceiling = run.ceilings.of(stage.name)
            entry = stage_entry(stage.name, run.began)
            run.stage_log.append(entry)
            free = np.ones(run.full.n_vars, dtype=bool)
            free[:n_pairs] = stage.active
            # A stage too big to solve whole in time is left to the neighbourhood search.
            n_free = int(free.sum())
            whole = n_free <= self.settings.max_stage_variables
            in_background = (
                self.settings.background_proofs > 0
                and n_free >= self.settings.background_min_variables
            )
            # A proof in a worker process costs the run no memory, and starts from the
            # incumbent, so it may take larger stages than one in process.
            prover_limit = (
                self.settings.max_background_prover_variables
                if in_background
                else self.settings.max_prover_variables
            )
            by_cbc = self.settings.band_prover == "cbc" and n_free <= prover_limit
            # What happens after the search: CP-SAT solves the stage whole, or CBC proves it.
            settled = whole or (by_cbc and stage.name != SOFT)
            proved_aside = by_cbc and in_background and stage.name != SOFT
            share = self.settings.band_search_share(by_cbc)
            held_open = not settled and stage.name != SOFT
            if held_open:
                share = min(share, self.settings.open_band_share)
                if self.settings.lp_guide and run.index == len(run.stages) - 2:
                    self._start_soft_lp(run, deadline, value, entry)
            ahead = self._take_soft_lp(run) if stage.name == SOFT else None
            if value < ceiling and self.settings.lp_guide:
                run.best, value, lp_bound = self._lp_guided_band(
                    _StageAt(inst, layout, run.full, stage),
                    run.best,
                    value,
                    ceiling,
                    deadline,
                    entry,
                    # A stage neither proved nor solved whole is proven by its LP bound or
                    # not at all, and its LP is the slowest (large band 1: 15 s): the LP and
                    # the piece may take all that is left.
                    # The soft stage and one proved aside (held meanwhile at what the guided
                    # piece gives) give the LP the larger share. (On the tight-caseloads
                    # variant the band-1 LP needs 15 s: with the smaller share it did not
                    # end, and band 1 was held at 188, not 355.)
                    share=(
                        1.0
                        if not settled
                        else self.settings.soft_lp_share
                        if proved_aside or stage.name == SOFT
                        else self.settings.lp_guide_share
                    ),
                    workers=self._workers(run),
                    wider_share=self.settings.open_band_share if held_open else None,
                    ahead=ahead,
                )
                if lp_bound is not None and lp_bound < ceiling:
                    # The LP relaxation of the stage is a proven ceiling too.
                    ceiling = max(lp_bound, value)
                if by_cbc and entry.get("lp_guided_status") == "OPTIMAL":
                    # The search would only look for what the piece's optimum already
                    # gives the proof (as its start, or as the count CBC must reach).
                    share = 0.0
            if ahead is not None:
                ahead.cancel()  # no-op once its answer is read
            if stage.name == SOFT and self.settings.lp_guide:
                # The soft stage's LP bound is the one worth reporting (the trivial one
                # counts every referral in its best unit); with the guided piece's value
                # close enough to it, the stage is done.
                run.bounds[SOFT] = ceiling
                entry.update(value=value, bound=ceiling)
                if value >= ceiling * (1 - self.settings.soft_gap):
                    run.index += 1
                    continue
            if stage.name != SOFT and value < ceiling and share > 0:
                budget = (deadline - time.perf_counter()) * share
                run.best, value, rounds, moved = self._improve_band(
                    _StageAt(inst, layout, run.full, stage),
                    run.best,
                    value,
                    ceiling,
                    budget,
                    workers=self._workers(run),
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
            if stage.name != SOFT and value >= ceiling:
                # The start (or the neighbourhood search) meets a proven ceiling.
                entry.update(value=value, skipped=True)
                run.bounds[stage.name] = value
                run.hold(value)
                continue
            remaining = deadline - time.perf_counter()
            if stage.name != SOFT:
                # The flow ceiling is proven with the bands above held: report it if we stop.
                run.bounds[stage.name] = ceiling
            if remaining <= 0.05 or (not settled and stage.name == SOFT):
                run.stopped = True
                return
            if not settled:
                # Nothing will prove this band in time: it is held open at its best count, and
                # the later stages still improve the allocation in what time is left.
                run.open_stages.add(run.index)
                entry.update(value=value, bound=ceiling, status="OPEN")
                run.hold(value)
                continue
            sub = restrict(run.full, free, np.zeros(run.full.n_vars, dtype=np.int64))
            gap = self.settings.soft_gap if stage.name == SOFT else 0.0
            # A band stage that reaches its ceiling is done: no further proof needed.
            target = ceiling if stage.name != SOFT else None
            if proved_aside:
                # Proved in a worker process (now, or when one is free) while the run goes
                # on with the band held at its count.
                entry.update(status="PROVING", variables=len(sub.free), value=value)
                run.pending.append(
                    _Pending(
                        run.index,
                        sub,
                        stage_objective(coefs, sub.free),
                        value,
                        ceiling,
                        entry,
                        run.full,
                        dict(run.ceilings.held),
                        stage_hint(inst, layout, run.best, stage.active)[sub.free],
                    )
                )
                self._launch(run, deadline, self.settings.background_proofs)
                run.hold(value)
                continue
            if stage.name != SOFT and by_cbc:
                # CBC overruns its clock by up to about a second in preprocessing.
                out = _prove_band(sub.model, coefs, sub.free, 0.9 * remaining - 0.5)
            else:
                hint_values = stage_hint(inst, layout, run.best, stage.active)
                out = self._solve(
                    sub.model,
                    coefs,
                    sub.free,
                    hint_values[sub.free],
                    remaining,
                    target,
                    gap,
                    workers=self._workers(run),
                )
            entry.update(status=out.status, seconds=round(out.seconds, 3), variables=len(sub.free))
            if out.values is None:
                if stage.name != SOFT:
                    run.bounds[stage.name] = max(min(out.bound, ceiling), value)
                run.stopped = True  # no solution in time (or an unexpected status)
                return
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
                return
            if out.optimal or stage.name != SOFT:
                run.bounds[stage.name] = value
            if stage.name != SOFT:
                run.hold(value)
            else:
                run.index += 1

    def _start_soft_lp(
        self, run: _Run, deadline: float, value: int, entry: dict[str, object]
    ) -> None:
        """Start the soft stage's priced LP in a worker, on the model with the current band
        (held open, the last) held at `value`, if the soft stage will be priced and no proof
        has the second core."""
        soft, band = run.stages[-1], run.stages[run.index]
        n_vars, n_pairs = run.full.n_vars, run.layout.n_pairs
        free = np.ones(n_vars, dtype=bool)
        free[:n_pairs] = soft.active
        limit = self.settings.soft_lp_ahead_share * (deadline - time.perf_counter())
        if (
            run.soft_lp is not None
            or run.pending
            or free.sum() <= self.settings.max_soft_lp_variables
            or limit < self.settings.min_ahead_seconds
        ):
            return
        nz = np.flatnonzero(band.coefficients)
        start = starting_columns(
            run.inst.pair_ref,
            run.inst.pair_points,
            soft.active,
            run.best,
            n_vars,
            per_referral=self.settings.start_columns_per_referral,
        )
        try:
            lp = BackgroundLp(
                run.full,
                nz,
                band.coefficients[nz],
                value,
                free,
                stage_objective(soft.coefficients, np.arange(n_vars)),
                start,
                limit,
                dual_simplex=True,
                niceness=self.settings.proof_niceness,
                settings=self.settings,
            )
        except OSError:  # no room for its files, or no process: the soft stage solves it
            return
        run.soft_lp = _SoftLpAhead(lp, {**run.ceilings.held, band.name: value})
        entry.update(soft_lp_held=value)

    def _take_soft_lp(self, run: _Run) -> BackgroundLp | None:
        """The soft LP started ahead, if its bound still holds for the run."""
        ahead, run.soft_lp = run.soft_lp, None
        if ahead is None:
            return None
        if not ahead.still_relaxes(run.ceilings.held):
            ahead.lp.cancel()
            return None
        return ahead.lp

    def _launch(self, run: _Run, deadline: float, workers: int) -> None:
        """Start waiting proofs, in stage order, while fewer than `workers` run."""
        running = run.proving
        for pending in run.pending:
            if running >= workers:
                break
            if pending.proof is None:
                # CBC overruns its clock by up to about a second in preprocessing; the
                # run is not blocked meanwhile, so the proof may take all the rest.
                limit = deadline - time.perf_counter() - self.settings.proof_overrun_seconds
                # A proof started beside others is of a later band: it yields the CPU to
                # theirs when another process takes a core.
                pending.proof = BackgroundProof(
                    pending.sub.model,
                    pending.objective,
                    limit,
                    niceness=self.settings.proof_niceness * running,
                    start=pending.start,
                )
                running += 1

    def _await_proofs(self, run: _Run, deadline: float) -> bool:
        """With the stages done, wait for the proofs (up to the deadline). Returns whether
        one sent the run back to redo stages."""
        while run.pending and time.perf_counter() < deadline:
            self._launch(run, deadline, self.settings.background_proofs)
            if self._settle(run):
                return True
            run.note_bands_proven()
            time.sleep(self.settings.proof_poll_seconds)
        return False

    def _wait_for_a_core(self, run: _Run, deadline: float) -> bool:
        """While `background_proofs` proofs run, the run waits: a proof of an earlier band
        counts for more than anything a later stage can do with the core. Returns whether a
        proof that answered meanwhile sent the run back."""
        while (
            run.pending
            and run.proving >= self.settings.background_proofs
            and time.perf_counter() < deadline
        ):
            time.sleep(self.settings.proof_poll_seconds)
            if self._settle(run):
                return True
        return False

    def _settle(self, run: _Run) -> bool:
        """Read the background proofs that have answered. A proof that confirms its band's
        value closes the band; one that ends unproven leaves it open; one that finds more
        sends the run back to just after its band, the later stages to be solved again.
        Returns whether the run went back."""
        for proof in list(run.pending):
            out = proof.proof.outcome() if proof.proof is not None else None
            if out is None:
                continue
            run.pending.remove(proof)
            stage = run.stages[proof.index]
            coefs = stage.coefficients
            status = (
                "OPTIMAL" if out.optimal else ("FEASIBLE" if out.values is not None else "UNKNOWN")
            )
            proof.entry.update(status=status, seconds=round(out.seconds, 3))
            values = proof.sub.expand(out.values) if out.values is not None else None
            found = int(coefs @ values[: len(coefs)]) if values is not None else proof.value
            if values is None or found <= proof.value:
                if out.optimal or out.bound <= proof.value:
                    run.bounds[stage.name] = proof.value
                else:
                    run.bounds[stage.name] = max(min(out.bound, proof.ceiling), proof.value)
                    run.open_stages.add(proof.index)
                proof.entry.update(bound=run.bounds[stage.name])
                continue
            # The band places more than it was held at: what came after is void.
            for later in [p for p in run.pending if p.index > proof.index]:
                if later.proof is not None:
                    later.proof.cancel()
                run.pending.remove(later)
            logged = next(i for i, entry in enumerate(run.stage_log) if entry is proof.entry)
            for entry in run.stage_log[logged + 1 :]:
                entry["superseded"] = True
            for later_stage in run.stages[proof.index + 1 :]:
                run.bounds.pop(later_stage.name, None)
            run.open_stages = {i for i in run.open_stages if i < proof.index}
            run.stopped = False
            completed = greedy_placements(run.inst, start=decode(run.inst, run.layout, values))
            run.best = encode(run.inst, run.layout, completed)
            run.full, run.ceilings.held = proof.full_before, dict(proof.held_before)
            run.index = proof.index
            if out.optimal:
                run.bounds[stage.name] = found
            else:
                run.bounds[stage.name] = max(min(out.bound, proof.ceiling), found)
                run.open_stages.add(proof.index)
            proof.entry.update(value=found, bound=run.bounds[stage.name])
            run.hold(found)
            return True
        return False

    def _workers(self, run: _Run) -> int | None:
        """CP-SAT's workers: fewer while background proofs need a core."""
        if run.proving:
            return max(1, min(self.settings.num_workers, self.settings.workers_while_proving))
        return None

    def _lp_guided_band(
        self,
        at: _StageAt,
        best: np.ndarray,
        value: int,
        ceiling: int,
        deadline: float,
        entry: dict[str, object],
        share: float,
        workers: int | None = None,
        wider_share: float | None = None,
        ahead: BackgroundLp | None = None,
    ) -> tuple[np.ndarray, int, int | None]:
        """The stage's LP relaxation: its optimum rounded down is a proven ceiling, and its
        support (the pairs it uses at all) with the incumbent's is a small sub-model that
        CP-SAT solves exactly for a better start (relaxation-induced neighbourhood search).
        Returns the (maybe improved) allocation, its value and the LP bound (None if the
        LP was not solved in time or the stage is too big for it). The LP and the piece
        take at most `share` of the time left; the wider piece, if `wider_share` is given,
        at most that part of what is left then. `ahead`, the stage's priced LP started
        earlier in a worker, is waited for, in the LP's share of the time, rather than
        solved here."""
        inst, layout, full, stage = at.inst, at.layout, at.full, at.stage
        soft = stage.name == SOFT
        budget_s = (deadline - time.perf_counter()) * share
        stop_at = time.perf_counter() + budget_s
        n_pairs = layout.n_pairs
        coefs = stage.coefficients
        free = np.ones(full.n_vars, dtype=bool)
        free[:n_pairs] = stage.active
        if budget_s < 0.5:
            return best, value, None
        used = np.zeros(full.n_vars, dtype=bool)  # what the LP's optimum uses
        whole_lp_limit = (
            self.settings.max_soft_lp_variables if soft else self.settings.max_lp_variables
        )
        if int(free.sum()) > whole_lp_limit:
            # Too big for GLOP whole: solved over few columns, proven over all by pricing.
            objective_full = stage_objective(coefs, np.arange(full.n_vars))
            start = starting_columns(
                inst.pair_ref,
                inst.pair_points,
                stage.active,
                best,
                full.n_vars,
                per_referral=self.settings.start_columns_per_referral,
            )
            lp_stop = (
                time.perf_counter()
                + (self.settings.soft_priced_lp_share if soft else self.settings.priced_lp_share)
                * budget_s
            )
            priced: PricedLp | None = None
            if ahead is not None:
                priced = ahead.outcome(wait_until=lp_stop)
                ahead.cancel()
                entry.update(lp_ahead=priced is not None)
            if priced is None:
                # The soft objective's many point values suit the dual simplex; a band's
                # count does not (`priced_lp.RestrictedLp`).
                priced = priced_lp(
                    full,
                    free,
                    objective_full,
                    start,
                    lp_stop - time.perf_counter(),
                    dual_simplex=soft,
                    settings=self.settings,
                )
            lp_bound = priced.integer_bound
            entry.update(
                lp_seconds=round(priced.seconds, 3),
                lp_value=priced.bound,
                lp_priced_rounds=priced.rounds,
                lp_priced_columns=priced.columns,
            )
            if lp_bound is None or priced.support is None or priced.reduced is None:
                return best, value, lp_bound
            used = priced.support
            reduced = priced.reduced
            tighten = _UnitBound(
                full,
                np.where(free, full.lower, 0),
                np.where(free, full.upper, 0),
                objective_full,
                priced.prices,
                priced.point,
                unit_of_variable(inst, layout),
                self.settings,
            )
        else:
            sub = restrict(full, free, np.zeros(full.n_vars, dtype=np.int64))
            lp = mip_prover.relax(sub.model, stage_objective(coefs, sub.free), budget_s)
            entry.update(lp_seconds=round(lp.seconds, 3), lp_value=lp.value)
            lp_bound = lp.bound
            if lp_bound is None or lp.values is None or lp.reduced_costs is None:
                return best, value, None
            used[sub.free[lp.values > 1e-6]] = True
            reduced = np.full(full.n_vars, -np.inf)
            reduced[sub.free] = lp.reduced_costs
            tighten = _UnitBound(
                sub.model,
                sub.model.lower,
                sub.model.upper,
                stage_objective(coefs, sub.free),
                lp.prices,
                lp.values,
                unit_of_variable(inst, layout)[sub.free],
                self.settings,
            )
        target = min(ceiling, lp_bound)
        # A band's piece that falls short of the LP's bound may be the optimum, the bound
        # falling short: units are solved whole (`block_bound`) before a wider piece is tried.
        tightens = self.settings.unit_bounds and not soft

        def by_units(bound: int) -> int:
            now = time.perf_counter()
            seconds = min(
                self.settings.unit_bound_share * budget_s,
                deadline - now - self.settings.piece_reserve_seconds,
            )
            return tighten.run(value, bound, seconds, entry)

        for width in (0, self.settings.wider_piece_pairs):
            if width and tightens and value < target:
                lp_bound = by_units(lp_bound)
                target = min(ceiling, lp_bound)
                tightens = False
            # A slow LP (large stages) still leaves the piece a share of what is left; the
            # soft stage, the last, may give the wider piece all of it.
            now = time.perf_counter()
            remaining = max(
                stop_at - now,
                self.settings.piece_share * (deadline - now),
                min(
                    self.settings.min_piece_seconds,
                    deadline - now - self.settings.piece_reserve_seconds,
                ),
            )
            if width and soft:
                remaining = deadline - now - self.settings.piece_reserve_seconds
            elif width and wider_share is not None:
                remaining = min(remaining, wider_share * (deadline - now))
            if value >= target or remaining < 0.2:
                break
            best, value = self._guided_piece(
                at,
                best,
                value,
                used,
                reduced,
                width,
                target,
                remaining,
                entry,
                workers,
            )
        if tightens and value < target:
            lp_bound = by_units(lp_bound)
        return best, value, lp_bound

    def _guided_piece(
        self,
        at: _StageAt,
        best: np.ndarray,
        value: int,
        used: np.ndarray,
        reduced: np.ndarray,
        width: int,
        target: int,
        time_limit_s: float,
        entry: dict[str, object],
        workers: int | None,
    ) -> tuple[np.ndarray, int]:
        """Solve the piece of the pairs the LP uses, those the incumbent uses and every
        count variable, with (`width` > 0) each referral's `width` pairs of best reduced cost
        besides. Returns the (maybe improved) allocation and its value."""
        inst, layout, full, stage = at.inst, at.layout, at.full, at.stage
        n_pairs = layout.n_pairs
        coefs = stage.coefficients
        hint_values = stage_hint(inst, layout, best, stage.active)
        guided = np.ones(full.n_vars, dtype=bool)
        guided[:n_pairs] = (hint_values[:n_pairs] > 0) | used[:n_pairs]
        if width:
            guided[:n_pairs] |= best_per_referral(
                inst.pair_ref, reduced[:n_pairs], stage.active, width
            )
        guided[:n_pairs] &= stage.active
        piece = restrict(full, guided, np.zeros(full.n_vars, dtype=np.int64))
        key = "lp_wider" if width else "lp_guided"
        raced = stage.name == SOFT and len(piece.free) <= self.settings.max_race_variables
        if self.settings.band_prover == "cbc" and raced and self.settings.race_soft_pieces:
            out, by = self._race(piece, coefs, hint_values[piece.free], time_limit_s, workers)
            entry[f"{key}_by"] = by
        elif self.settings.band_prover == "cbc":
            # CBC's presolve and cuts close such a piece in about a second, where CP-SAT
            # often only finds a first solution (medium band 1: 4,403 variables).
            out = _prove_band(
                piece.model, coefs, piece.free, time_limit_s, start=hint_values[piece.free]
            )
        else:
            out = self._solve(
                piece.model,
                coefs,
                piece.free,
                hint_values[piece.free],
                time_limit_s,
                target,
                0.0,
                workers=workers,
            )
        entry.update({f"{key}_variables": len(piece.free), f"{key}_status": out.status})
        if out.values is not None:
            values = piece.expand(out.values)
            found = int(coefs @ values[:n_pairs])
            entry[f"{key}_value"] = found
            if found > value:
                # Referrals the stage left out are added back greedily for the next hint.
                completed = greedy_placements(inst, start=decode(inst, layout, values))
                best, value = encode(inst, layout, completed), found
        return best, value

    def _race(
        self,
        piece: SubModel,
        coefs: np.ndarray,
        start: np.ndarray,
        time_limit_s: float,
        workers: int | None,
    ) -> tuple[_Outcome, str]:
        """A soft piece given to CBC (in its own process) and CP-SAT at once: the better
        answer, with the lower of their bounds, and which solver gave it. CBC ending stops
        CP-SAT; CP-SAT proving its answer optimal stops CBC."""
        stop_cp, stop_cbc = threading.Event(), threading.Event()

        def by_cbc() -> _Outcome:
            try:
                return _prove_band(
                    piece.model, coefs, piece.free, time_limit_s, start=start, stop=stop_cbc
                )
            finally:
                stop_cp.set()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=1) as pool:
            cbc_future = pool.submit(by_cbc)
            with contextlib.suppress(TimeoutError):
                # Most pieces CBC closes in a few seconds: CP-SAT would only slow it.
                return cbc_future.result(timeout=self.settings.race_after_seconds), "cbc"
            cp: _Outcome | None = None
            try:
                cp = self._solve(
                    piece.model,
                    coefs,
                    piece.free,
                    start,
                    time_limit_s - (time.perf_counter() - started),
                    None,
                    0.0,
                    workers=min(workers or self.settings.num_workers, self.settings.race_workers),
                    stop=stop_cp,
                )
            finally:
                # CBC goes on only for an answer CP-SAT has not proved (or failed to give).
                if cp is None or cp.optimal:
                    stop_cbc.set()
            cbc = cbc_future.result()
        objective = stage_objective(coefs, piece.free)
        cp_value, cbc_value = (
            None if out.values is None else int(objective @ out.values) for out in (cp, cbc)
        )
        found: int | None
        # On a tie CBC's: it is the one that proves.
        if cp_value is not None and (cbc_value is None or cp_value > cbc_value):
            by, best, found = "cpsat", cp, cp_value
        else:
            by, best, found = "cbc", cbc, cbc_value
        bound = min(cp.bound, cbc.bound)
        proven = best.optimal or (found is not None and found >= bound)
        status = "OPTIMAL" if proven else best.status
        return _Outcome(status, best.values, bound, max(cp.seconds, cbc.seconds)), by

    def _improve_band(
        self,
        at: _StageAt,
        best: np.ndarray,
        value: int,
        ceiling: int,
        budget_s: float,
        workers: int | None = None,
    ) -> tuple[np.ndarray, int, int, bool]:
        """Neighbourhood search for a band stage: free the units some unplaced referrals of
        the band could use, plus everyone placed there (who may move anywhere or, if of a
        lower band, make way), fix the rest, and re-solve that piece exactly. Each piece's
        solution is a whole allocation no worse than the last, so stopping anywhere is safe.
        Returns the allocation, its count, the rounds, and whether a piece moved anyone.

        A round starts only with time for its setup as well as its solve (cutting out a piece
        of a large stage can take longer than its solve): the longest setup so far is kept
        in hand."""
        inst, layout, full, stage = at.inst, at.layout, at.full, at.stage
        stop_at = time.perf_counter() + budget_s
        rng = np.random.default_rng(self.settings.seed)
        n_pairs = layout.n_pairs
        coefs = stage.coefficients
        band_pair = coefs > 0
        p_ref, p_unit = inst.pair_ref, inst.pair_unit
        n_units = len(inst.tables.units)
        rounds = stalled = 0
        improved = False
        setup_s = 0.0  # the longest a round took besides its solve
        while value < ceiling:
            round_started = time.perf_counter()
            remaining = stop_at - round_started
            if remaining < 0.2 + setup_s:
                break
            chosen = best[:n_pairs] > 0
            placed_ref = np.zeros(len(inst.tables.referrals), dtype=bool)
            placed_ref[p_ref[chosen]] = True
            waiting = np.unique(p_ref[band_pair & ~placed_ref[p_ref]])
            if waiting.size == 0:
                break
            batch = rng.choice(waiting, size=min(4, waiting.size), replace=False)
            if rounds % 2 == 0:
                # Places: some units the batch could use; whoever is there may move anywhere.
                in_batch = np.isin(p_ref, batch)
                units = np.unique(p_unit[in_batch & stage.active])
                if units.size > self.settings.max_units:
                    units = rng.choice(units, size=self.settings.max_units, replace=False)
                in_units = np.zeros(n_units, dtype=bool)
                in_units[units] = True
                movers = np.zeros(len(inst.tables.referrals), dtype=bool)
                movers[p_ref[chosen & in_units[p_unit]]] = True
                free_pairs = (in_units[p_unit] & ~placed_ref[p_ref] & stage.active) | movers[p_ref]
            else:
                # People: everyone placed who competes for the same scarce room as the batch
                # (high-risk places, gender), the batch and the band's waiting of that kind.
                kind = _kind(inst)
                alike = np.isin(kind, kind[batch])
                movers = placed_ref & alike
                if movers.sum() > self.settings.max_movers:
                    keep = rng.choice(
                        np.flatnonzero(movers), size=self.settings.max_movers, replace=False
                    )
                    movers[:] = False
                    movers[keep] = True
                free_pairs = movers[p_ref] | (
                    alike[p_ref] & band_pair & ~placed_ref[p_ref] & stage.active
                )
            free = np.ones(full.n_vars, dtype=bool)
            free[:n_pairs] = free_pairs
            sub = restrict(full, free, best)
            free_pairs_idx = sub.free[sub.free < n_pairs]
            # The piece's share of the count: the ceiling less what the fixed part places.
            target = ceiling - value + int(coefs[free_pairs_idx] @ best[free_pairs_idx])
            out = self._solve(
                sub.model,
                coefs,
                sub.free,
                best[sub.free],
                min(remaining, self.settings.round_seconds),
                target,
                0.0,
                workers=min(workers or self.settings.num_workers, 2),
            )
            rounds += 1
            stalled += 1
            setup_s = max(setup_s, time.perf_counter() - round_started - out.seconds)
            if out.values is not None:
                values = sub.expand(out.values)
                found = int(coefs @ values[:n_pairs])
                if found > value:
                    best, value, improved, stalled = values, found, True, 0
            # Pieces keep failing (on small instances they soon cover the whole stage).
            if stalled >= max(self.settings.min_stalled_rounds, 2 * waiting.size):
                break
        return best, value, rounds, improved

    def _solve(
        self,
        model: SparseModel,
        coefs: np.ndarray,
        free: np.ndarray,
        hint: np.ndarray,
        time_limit_s: float,
        target: int | None,
        gap: float,
        workers: int | None = None,
        stop: threading.Event | None = None,
    ) -> _Outcome:
        """Maximise ``coefs`` (over the full model's pairs) on a sub-model of free variables;
        setting `stop` ends the search early (with the best solution so far)."""
        from ortools.sat.python import cp_model

        cp = cp_model.CpModel()
        proto = cp.proto
        for lo, hi in zip(model.lower.tolist(), model.upper.tolist(), strict=True):
            proto.variables.add().domain.extend([lo, hi])
        cols, coef_list = model.col.tolist(), model.coef.tolist()
        starts = model.start.tolist()
        for i, (lo, hi) in enumerate(zip(model.lo.tolist(), model.hi.tolist(), strict=True)):
            ct = proto.constraints.add().linear
            s, e = starts[i], starts[i + 1]
            ct.vars.extend(cols[s:e])
            ct.coeffs.extend(coef_list[s:e])
            ct.domain.extend([max(lo, -INT_MAX), min(hi, INT_MAX)])
        objective = stage_objective(coefs, free)
        nz = np.flatnonzero(objective)
        proto.objective.vars.extend(nz.tolist())
        proto.objective.coeffs.extend((-objective[nz]).tolist())
        proto.objective.scaling_factor = -1.0
        proto.solution_hint.vars.extend(range(len(free)))
        proto.solution_hint.values.extend(hint.tolist())
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(time_limit_s, 0.01)
        solver.parameters.num_workers = workers or self.settings.num_workers
        solver.parameters.log_search_progress = self.settings.log
        solver.parameters.random_seed = self.settings.seed
        for key, setting in self.settings.parameters.items():
            setattr(solver.parameters, key, setting)
        if gap > 0:
            solver.parameters.relative_gap_limit = gap
        started = time.perf_counter()
        done = threading.Event()
        if stop is not None:
            threading.Thread(
                target=_stop_search_when,
                args=(stop, done, solver, self.settings.race_poll_seconds),
            ).start()
        try:
            status = solver.solve(cp, _StopAt(target) if target is not None else None)
        finally:
            done.set()
        seconds = time.perf_counter() - started
        name = solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return _Outcome(name, None, UNBOUNDED, seconds)
        values = np.asarray(solver.response_proto.solution, dtype=np.int64)
        return _Outcome(name, values, int(np.floor(solver.best_objective_bound + 1e-6)), seconds)


def _stop_search_when(
    stop: threading.Event, done: threading.Event, solver: Any, poll_seconds: float
) -> None:
    """Stop `solver`'s search once `stop` is set, until `done` (asked again each poll: a
    stop asked before the search has begun may not take)."""
    while not done.wait(poll_seconds):
        if stop.is_set():
            solver.stop_search()


def _prove_band(
    model: SparseModel,
    coefs: np.ndarray,
    free: np.ndarray,
    time_limit_s: float,
    start: np.ndarray | None = None,
    stop: threading.Event | None = None,
) -> _Outcome:
    """A band stage's sub-model maximised by CBC: its proven bound, and its solution if any
    (the caller keeps the better of it and the incumbent). Given a feasible `start`, the
    CBC program begins from it where it runs here: a piece whose CBC found no solution in
    the time left (tight caseloads, band 1, 4,171 variables) still gives the start back."""
    out = cbc_command.prove(model, stage_objective(coefs, free), time_limit_s, start, stop=stop)
    status = "OPTIMAL" if out.optimal else ("FEASIBLE" if out.values is not None else "UNKNOWN")
    return _Outcome(status, out.values, out.bound, out.seconds)


def _kind(inst: Instance) -> np.ndarray:
    """(R,) a code for the coupled resources a referral competes for: high-risk room, gender."""
    return inst.coupling.is_high_risk.astype(np.int64) * 3 + inst.gender
