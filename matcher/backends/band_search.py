"""Neighbourhood search for a band stage: small pieces around the band's unplaced
referrals re-solved exactly by CP-SAT, each a whole allocation no worse than the last."""

from __future__ import annotations

import time

import numpy as np

from matcher.backends.classes import Instance
from matcher.backends.greedy import greedy_placements
from matcher.backends.piece_solvers import cpsat_maximise
from matcher.backends.reduced_model import decode, encode
from matcher.backends.settings import SolverSettings
from matcher.backends.stage_run import StageAt, StageRun
from matcher.backends.submodel import restrict


def improve_band(
    settings: SolverSettings,
    at: StageAt,
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
    rng = np.random.default_rng(settings.seed)
    n_pairs = layout.n_pairs
    coefs = stage.coefficients
    band_pair = coefs > 0
    p_ref = inst.pair_ref
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
            free_pairs = _places(settings, at, rng, batch, chosen, placed_ref)
        else:
            free_pairs = _people(settings, at, rng, batch, placed_ref)
        free = np.ones(full.n_vars, dtype=bool)
        free[:n_pairs] = free_pairs
        sub = restrict(full, free, best)
        free_pairs_idx = sub.free[sub.free < n_pairs]
        # The piece's share of the count: the ceiling less what the fixed part places.
        target = ceiling - value + int(coefs[free_pairs_idx] @ best[free_pairs_idx])
        out = cpsat_maximise(
            settings,
            sub.model,
            coefs,
            sub.free,
            best[sub.free],
            min(remaining, settings.round_seconds),
            target,
            0.0,
            workers=min(workers or settings.num_workers, 2),
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
        if stalled >= max(settings.min_stalled_rounds, 2 * waiting.size):
            break
    return best, value, rounds, improved


def _places(
    settings: SolverSettings,
    at: StageAt,
    rng: np.random.Generator,
    batch: np.ndarray,
    chosen: np.ndarray,
    placed_ref: np.ndarray,
) -> np.ndarray:
    """Places: some units the batch could use; whoever is there may move anywhere."""
    inst, stage = at.inst, at.stage
    p_ref, p_unit = inst.pair_ref, inst.pair_unit
    in_batch = np.isin(p_ref, batch)
    units = np.unique(p_unit[in_batch & stage.active])
    if units.size > settings.max_units:
        units = rng.choice(units, size=settings.max_units, replace=False)
    in_units = np.zeros(len(inst.tables.units), dtype=bool)
    in_units[units] = True
    movers = np.zeros(len(inst.tables.referrals), dtype=bool)
    movers[p_ref[chosen & in_units[p_unit]]] = True
    free_pairs: np.ndarray = (in_units[p_unit] & ~placed_ref[p_ref] & stage.active) | movers[p_ref]
    return free_pairs


def _people(
    settings: SolverSettings,
    at: StageAt,
    rng: np.random.Generator,
    batch: np.ndarray,
    placed_ref: np.ndarray,
) -> np.ndarray:
    """People: everyone placed who competes for the same scarce room as the batch
    (high-risk places, gender), the batch and the band's waiting of that kind."""
    inst, stage = at.inst, at.stage
    p_ref = inst.pair_ref
    band_pair = stage.coefficients > 0
    kind = _kind(inst)
    alike = np.isin(kind, kind[batch])
    movers = placed_ref & alike
    if movers.sum() > settings.max_movers:
        keep = rng.choice(np.flatnonzero(movers), size=settings.max_movers, replace=False)
        movers[:] = False
        movers[keep] = True
    free_pairs: np.ndarray = movers[p_ref] | (
        alike[p_ref] & band_pair & ~placed_ref[p_ref] & stage.active
    )
    return free_pairs


def _kind(inst: Instance) -> np.ndarray:
    """(R,) a code for the coupled resources a referral competes for: high-risk room, gender."""
    return inst.coupling.is_high_risk.astype(np.int64) * 3 + inst.gender


def search_band(
    settings: SolverSettings,
    run: StageRun,
    deadline: float,
    value: int,
    ceiling: int,
    share: float,
    entry: dict[str, object],
    workers: int | None = None,
) -> int:
    """The band stage at `run.index` searched in `share` of the time left (`improve_band`)
    by CP-SAT with `workers` (None: the setting), the run's incumbent improved; returns the
    band's count."""
    inst, layout = run.inst, run.layout
    budget = (deadline - time.perf_counter()) * share
    run.best, value, rounds, moved = improve_band(
        settings,
        StageAt(inst, layout, run.full, run.stages[run.index]),
        run.best,
        value,
        ceiling,
        budget,
        workers=workers,
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
