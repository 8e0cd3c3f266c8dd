"""Work beside the stage loop, in worker processes: band proofs, which may send the run
back to just after their band, and the soft stage's LP started ahead beside a band held
open. The run waits while every core has a proof: an earlier band counts for more. A proof
starts only within the memory budget (`SolverSettings.memory_budget_mib`); what runs is kept
in the CP-SAT strategy's `WorkAside`."""

from __future__ import annotations

import time

import numpy as np

from matcher.backends.greedy import greedy_placements
from matcher.backends.lp_worker import BackgroundLp
from matcher.backends.priced_lp import starting_columns
from matcher.backends.proof_worker import BackgroundProof
from matcher.backends.reduced_model import decode, encode
from matcher.backends.settings import SolverSettings
from matcher.backends.stage_run import StageRun
from matcher.backends.stage_terms import stage_objective
from matcher.backends.work_aside import SoftLpAhead, WorkAside
from matcher.process_memory import resident_bytes


def launch_proofs(
    settings: SolverSettings, run: StageRun, aside: WorkAside, deadline: float, workers: int
) -> None:
    """Start waiting proofs, in stage order, while fewer than `workers` run and the memory
    budget holds them. A proof that would not fit even alone is given up: its band stays open."""
    running = aside.proving
    for pending in list(aside.pending):
        if running >= workers:
            break
        if pending.proof is None:
            fits = _fits_memory(settings, aside, len(pending.sub.free))
            if not fits and running == 0:
                aside.pending.remove(pending)
                run.proved_elsewhere.discard(pending.index)
                run.open_stages.add(pending.index)
                pending.entry.update(status="OPEN", over_memory_budget=True)
                continue
            if not fits:
                continue
            # CBC overruns its clock by up to about a second in preprocessing; the
            # run is not blocked meanwhile, so the proof may take all the rest.
            limit = deadline - time.perf_counter() - settings.proof_overrun_seconds
            # A proof started beside others is of a later band: it yields the CPU to
            # theirs when another process takes a core.
            pending.proof = BackgroundProof(
                pending.sub.model,
                pending.objective,
                limit,
                niceness=settings.proof_niceness * running,
                start=pending.start,
                solver=settings.band_mip_solver,
            )
            running += 1


def _fits_memory(settings: SolverSettings, aside: WorkAside, variables: int) -> bool:
    """Whether a CBC proof of `variables` fits beside this process and the proofs running,
    within `settings.memory_budget_mib` (CBC's need estimated from its variables)."""
    if settings.memory_budget_mib <= 0:
        return True
    own = resident_bytes()
    if own is None:
        return True
    per_variable = settings.cbc_kib_per_variable * 1024
    running = sum(len(p.sub.free) for p in aside.pending if p.proof is not None)
    need = own + per_variable * (running + variables)
    return need <= settings.memory_budget_mib * (1 << 20)


def await_proofs(
    settings: SolverSettings, run: StageRun, aside: WorkAside, deadline: float
) -> bool:
    """With the stages done, wait for the proofs (up to the deadline). Returns whether
    one sent the run back to redo stages."""
    while aside.pending and time.perf_counter() < deadline:
        launch_proofs(settings, run, aside, deadline, settings.background_proofs)
        if settle_proofs(run, aside):
            return True
        run.note_bands_proven()
        time.sleep(settings.proof_poll_seconds)
    return False


def wait_for_a_core(
    settings: SolverSettings, run: StageRun, aside: WorkAside, deadline: float
) -> bool:
    """While `background_proofs` proofs run, the run waits: a proof of an earlier band
    counts for more than anything a later stage can do with the core. Returns whether a
    proof that answered meanwhile sent the run back."""
    while (
        aside.pending
        and aside.proving >= settings.background_proofs
        and time.perf_counter() < deadline
    ):
        time.sleep(settings.proof_poll_seconds)
        if settle_proofs(run, aside):
            return True
    return False


def settle_proofs(run: StageRun, aside: WorkAside) -> bool:
    """Read the background proofs that have answered. A proof that confirms its band's
    value closes the band; one that ends unproven leaves it open; one that finds more
    sends the run back to just after its band, the later stages to be solved again.
    Returns whether the run went back."""
    for proof in list(aside.pending):
        out = proof.proof.outcome() if proof.proof is not None else None
        if out is None:
            continue
        aside.pending.remove(proof)
        run.proved_elsewhere.discard(proof.index)
        stage = run.stages[proof.index]
        coefs = stage.coefficients
        status = "OPTIMAL" if out.optimal else ("FEASIBLE" if out.values is not None else "UNKNOWN")
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
        for later in [p for p in aside.pending if p.index > proof.index]:
            if later.proof is not None:
                later.proof.cancel()
            aside.pending.remove(later)
            run.proved_elsewhere.discard(later.index)
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


def start_soft_lp(
    settings: SolverSettings,
    run: StageRun,
    aside: WorkAside,
    deadline: float,
    value: int,
    entry: dict[str, object],
) -> None:
    """Start the soft stage's priced LP in a worker, on the model with the current band
    (held open, the last) held at `value`, if the soft stage will be priced and no proof
    has the second core."""
    soft, band = run.stages[-1], run.stages[run.index]
    n_vars, n_pairs = run.full.n_vars, run.layout.n_pairs
    free = np.ones(n_vars, dtype=bool)
    free[:n_pairs] = soft.active
    limit = settings.soft_lp_ahead_share * (deadline - time.perf_counter())
    if (
        aside.soft_lp is not None
        or aside.pending
        or free.sum() <= settings.max_soft_lp_variables
        or limit < settings.min_ahead_seconds
    ):
        return
    nz = np.flatnonzero(band.coefficients)
    start = starting_columns(
        run.inst.pair_ref,
        run.inst.pair_points,
        soft.active,
        run.best,
        n_vars,
        per_referral=settings.start_columns_per_referral,
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
            niceness=settings.proof_niceness,
            settings=settings,
        )
    except OSError:  # no room for its files, or no process: the soft stage solves it
        return
    aside.soft_lp = SoftLpAhead(lp, {**run.ceilings.held, band.name: value})
    entry.update(soft_lp_held=value)


def take_soft_lp(run: StageRun, aside: WorkAside) -> BackgroundLp | None:
    """The soft LP started ahead, if its bound still holds for the run."""
    ahead, aside.soft_lp = aside.soft_lp, None
    if ahead is None:
        return None
    if not ahead.still_relaxes(run.ceilings.held):
        ahead.lp.cancel()
        return None
    return ahead.lp
