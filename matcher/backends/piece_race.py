"""A piece raced: CBC (in its own process) and CP-SAT at once on the same piece from the same
start, each stopping the other, the better answer kept. CBC closes most pieces in a few
seconds alone; on some it never improves the start, or never proves it, where CP-SAT does."""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from matcher.backends.piece_outcome import PieceOutcome
from matcher.backends.piece_solvers import cbc_maximise, cpsat_maximise
from matcher.backends.settings import SolverSettings
from matcher.backends.stage_terms import stage_objective
from matcher.backends.submodel import SubModel


def race_piece(
    settings: SolverSettings,
    piece: SubModel,
    coefs: np.ndarray,
    start: np.ndarray,
    time_limit_s: float,
    workers: int | None,
) -> tuple[PieceOutcome, str]:
    """A piece given to CBC (in its own process) and CP-SAT at once: the better
    answer, with the lower of their bounds, and which solver gave it. CBC ending stops
    CP-SAT; CP-SAT proving its answer optimal stops CBC."""
    stop_cp, stop_cbc = threading.Event(), threading.Event()

    def by_cbc() -> PieceOutcome:
        try:
            return cbc_maximise(
                piece.model, coefs, piece.free, time_limit_s, start=start, stop=stop_cbc
            )
        finally:
            stop_cp.set()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as pool:
        cbc_future = pool.submit(by_cbc)
        with contextlib.suppress(TimeoutError):
            # Most pieces CBC closes in a few seconds: CP-SAT would only slow it.
            return cbc_future.result(timeout=settings.race_after_seconds), "cbc"
        cp: PieceOutcome | None = None
        try:
            cp = cpsat_maximise(
                settings,
                piece.model,
                coefs,
                piece.free,
                start,
                time_limit_s - (time.perf_counter() - started),
                None,
                0.0,
                workers=min(workers or settings.num_workers, settings.race_workers),
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
    return PieceOutcome(status, best.values, bound, max(cp.seconds, cbc.seconds)), by
