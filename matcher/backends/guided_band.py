"""A stage guided by its LP relaxation: the LP's optimum rounded down is a proven ceiling,
and the pairs it uses with the incumbent's make a small piece solved exactly for a better
start (relaxation-induced neighbourhood search). Large LPs are priced
(`matcher.backends.priced_lp`); a band whose piece falls short of its LP bound has the bound
tightened unit by unit (`matcher.backends.unit_bound`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from matcher.backends import mip_prover
from matcher.backends.block_bound import unit_of_variable
from matcher.backends.cut_pool import CutPool
from matcher.backends.greedy import greedy_placements
from matcher.backends.lp_worker import BackgroundLp
from matcher.backends.piece_race import race_piece
from matcher.backends.piece_solvers import cbc_maximise, cpsat_maximise
from matcher.backends.priced_lp import PricedLp, best_per_referral, priced_lp, starting_columns
from matcher.backends.reduced_model import decode, encode
from matcher.backends.settings import SolverSettings
from matcher.backends.stage_run import StageAt
from matcher.backends.stage_strategy import Maximiser, maximised
from matcher.backends.stage_terms import stage_hint, stage_objective
from matcher.backends.submodel import restrict
from matcher.backends.unit_bound import UnitBound
from matcher.backends.unit_cuts import UnitRooms
from matcher.objective import SOFT


def lp_guided_band(
    settings: SolverSettings,
    at: StageAt,
    best: np.ndarray,
    value: int,
    ceiling: int,
    deadline: float,
    entry: dict[str, object],
    share: float,
    workers: int | None = None,
    wider_share: float | None = None,
    ahead: BackgroundLp | None = None,
    pool: CutPool | None = None,
    maximise: Maximiser | None = None,
) -> tuple[np.ndarray, int, int | None]:
    """The stage's LP relaxation: its optimum rounded down is a proven ceiling, and its
    support (the pairs it uses at all) with the incumbent's is a small sub-model that
    CP-SAT solves exactly for a better start (relaxation-induced neighbourhood search).
    Returns the (maybe improved) allocation, its value and the LP bound (None if the
    LP was not solved in time or the stage is too big for it). The LP and the piece
    take at most `share` of the time left; the wider piece, if `wider_share` is given,
    at most that part of what is left then. `ahead`, the stage's priced LP started
    earlier in a worker, is waited for, in the LP's share of the time, rather than
    solved here. Unit cuts found on the way go to `pool`. The pieces are solved by
    `maximise` where given (PuLP's HiGHS), by CBC or CP-SAT otherwise."""
    layout, full, stage = at.layout, at.full, at.stage
    soft = stage.name == SOFT
    budget_s = (deadline - time.perf_counter()) * share
    stop_at = time.perf_counter() + budget_s
    n_pairs = layout.n_pairs
    free = np.ones(full.n_vars, dtype=bool)
    free[:n_pairs] = stage.active
    if budget_s < 0.5:
        return best, value, None
    whole_lp_limit = settings.max_soft_lp_variables if soft else settings.max_lp_variables
    if int(free.sum()) > whole_lp_limit:
        # Too big for GLOP whole: solved over few columns, proven over all by pricing.
        lp, lp_bound = _priced_relaxation(settings, at, best, free, budget_s, entry, ahead)
    else:
        lp = _whole_relaxation(settings, at, free, budget_s, entry, best, pool)
        lp_bound = None
    if lp is None:
        return best, value, lp_bound
    lp_bound, used, reduced, tighten = lp.bound, lp.used, lp.reduced, lp.tighten
    target = min(ceiling, lp_bound)
    # A band's piece that falls short of the LP's bound may be the optimum, the bound
    # falling short: units are solved whole (`block_bound`) before a wider piece is tried.
    tightens = settings.unit_bounds and not soft

    def by_units(bound: int, value: int) -> int:
        now = time.perf_counter()
        left = deadline - now - settings.piece_reserve_seconds
        seconds = min(settings.unit_bound_share * budget_s, left)
        cut_seconds = min(settings.unit_cut_share * budget_s, left - seconds)
        return tighten.run(value, bound, seconds, entry, cut_seconds)

    for width in (0, settings.wider_piece_pairs):
        if width and tightens and value < target:
            lp_bound = by_units(lp_bound, value)
            target = min(ceiling, lp_bound)
            tightens = False
        remaining = _piece_seconds(settings, stop_at, deadline, width, soft, wider_share)
        if value >= target or remaining < 0.2:
            break
        best, value = guided_piece(
            settings,
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
            maximise,
        )
    if tightens and value < target:
        lp_bound = by_units(lp_bound, value)
    return best, value, lp_bound


def _piece_seconds(
    settings: SolverSettings,
    stop_at: float,
    deadline: float,
    width: int,
    soft: bool,
    wider_share: float | None,
) -> float:
    """The time a guided piece of `width` may take. A slow LP (large stages) still leaves
    the piece a share of what is left; the soft stage, the last, may give the wider piece
    all of it."""
    now = time.perf_counter()
    remaining = max(
        stop_at - now,
        settings.piece_share * (deadline - now),
        min(settings.min_piece_seconds, deadline - now - settings.piece_reserve_seconds),
    )
    if width and soft:
        remaining = deadline - now - settings.piece_reserve_seconds
    elif width and wider_share is not None:
        remaining = min(remaining, wider_share * (deadline - now))
    return remaining


@dataclass(frozen=True)
class _Relaxation:
    """A stage's LP relaxation as the guided piece reads it."""

    bound: int  # its optimum rounded down: a proven ceiling
    used: np.ndarray  # (variables,) what its optimum uses
    reduced: np.ndarray  # (variables,) the reduced costs, for the wider piece
    tighten: UnitBound


def _priced_relaxation(
    settings: SolverSettings,
    at: StageAt,
    best: np.ndarray,
    free: np.ndarray,
    budget_s: float,
    entry: dict[str, object],
    ahead: BackgroundLp | None,
) -> tuple[_Relaxation | None, int | None]:
    """The stage's LP solved over few columns and proven over all by pricing (or taken
    from `ahead`, started earlier in a worker). Returns it, or None and the bound to report
    when it did not give a point to guide with."""
    inst, layout, full, stage = at.inst, at.layout, at.full, at.stage
    soft = stage.name == SOFT
    coefs = stage.coefficients
    objective_full = stage_objective(coefs, np.arange(full.n_vars))
    start = starting_columns(
        inst.pair_ref,
        inst.pair_points,
        stage.active,
        best,
        full.n_vars,
        per_referral=settings.start_columns_per_referral,
    )
    lp_stop = (
        time.perf_counter()
        + (settings.soft_priced_lp_share if soft else settings.priced_lp_share) * budget_s
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
            settings=settings,
        )
    lp_bound = priced.integer_bound
    entry.update(
        lp_seconds=round(priced.seconds, 3),
        lp_value=priced.bound,
        lp_priced_rounds=priced.rounds,
        lp_priced_columns=priced.columns,
    )
    if lp_bound is None or priced.support is None or priced.reduced is None:
        return None, lp_bound
    tighten = UnitBound(
        full,
        np.where(free, full.lower, 0),
        np.where(free, full.upper, 0),
        objective_full,
        priced.prices,
        priced.point,
        unit_of_variable(inst, layout),
        settings,
    )
    return _Relaxation(lp_bound, priced.support, priced.reduced, tighten), lp_bound


def _whole_relaxation(
    settings: SolverSettings,
    at: StageAt,
    free: np.ndarray,
    budget_s: float,
    entry: dict[str, object],
    best: np.ndarray,
    pool: CutPool | None = None,
) -> _Relaxation | None:
    """The stage's LP solved whole by GLOP, or None if it was not solved in time. A band's
    bound may be tightened by cuts (`unit_cuts`), priced from the incumbent `best`; the cuts
    go to `pool`."""
    inst, layout, full, stage = at.inst, at.layout, at.full, at.stage
    coefs = stage.coefficients
    sub = restrict(full, free, np.zeros(full.n_vars, dtype=np.int64))
    lp = mip_prover.relax(sub.model, stage_objective(coefs, sub.free), budget_s)
    entry.update(lp_seconds=round(lp.seconds, 3), lp_value=lp.value)
    lp_bound = lp.bound
    if lp_bound is None or lp.values is None or lp.reduced_costs is None:
        return None
    used = np.zeros(full.n_vars, dtype=bool)
    used[sub.free[lp.values > 1e-6]] = True
    reduced = np.full(full.n_vars, -np.inf)
    reduced[sub.free] = lp.reduced_costs
    tighten = UnitBound(
        sub.model,
        sub.model.lower,
        sub.model.upper,
        stage_objective(coefs, sub.free),
        lp.prices,
        lp.values,
        unit_of_variable(inst, layout)[sub.free],
        settings,
    )
    if settings.unit_cuts and stage.name != SOFT:
        # Every count column, and the incumbent's pairs the stage may move.
        columns = (sub.free >= layout.n_pairs) | (best[sub.free] > 0)
        tighten = replace(
            tighten,
            lp_value=lp.value,
            rooms=UnitRooms.of(inst, sub.free),
            incumbent_columns=columns,
            pool=pool,
            columns=sub.free,
        )
    return _Relaxation(lp_bound, used, reduced, tighten)


def guided_piece(
    settings: SolverSettings,
    at: StageAt,
    best: np.ndarray,
    value: int,
    used: np.ndarray,
    reduced: np.ndarray,
    width: int,
    target: int,
    time_limit_s: float,
    entry: dict[str, object],
    workers: int | None,
    maximise: Maximiser | None = None,
) -> tuple[np.ndarray, int]:
    """Solve the piece of the pairs the LP uses, those the incumbent uses and every
    count variable, with (`width` > 0) each referral's `width` pairs of best reduced cost
    besides, by `maximise` if given. Returns the (maybe improved) allocation and its
    value."""
    inst, layout, full, stage = at.inst, at.layout, at.full, at.stage
    n_pairs = layout.n_pairs
    coefs = stage.coefficients
    hint_values = stage_hint(inst, layout, best, stage.active)
    guided = np.ones(full.n_vars, dtype=bool)
    guided[:n_pairs] = (hint_values[:n_pairs] > 0) | used[:n_pairs]
    if width:
        guided[:n_pairs] |= best_per_referral(inst.pair_ref, reduced[:n_pairs], stage.active, width)
    guided[:n_pairs] &= stage.active
    piece = restrict(full, guided, np.zeros(full.n_vars, dtype=np.int64))
    key = "lp_wider" if width else "lp_guided"
    raced = stage.name == SOFT and len(piece.free) <= settings.max_race_variables
    if maximise is not None:
        objective = stage_objective(coefs, piece.free)
        out = maximised(
            maximise, piece.model, objective, hint_values[piece.free], time_limit_s, 0.0
        )
    elif settings.band_prover == "cbc" and raced and settings.race_soft_pieces:
        out, by = race_piece(settings, piece, coefs, hint_values[piece.free], time_limit_s, workers)
        entry[f"{key}_by"] = by
    elif settings.band_prover == "cbc":
        # CBC's presolve and cuts close such a piece in about a second, where CP-SAT
        # often only finds a first solution (medium band 1: 4,403 variables).
        out = cbc_maximise(
            piece.model, coefs, piece.free, time_limit_s, start=hint_values[piece.free]
        )
    else:
        out = cpsat_maximise(
            settings,
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
