"""What the stage loop does with a stage of a given size: solve it whole with CP-SAT, prove it
with CBC (in process, or in a worker while the run goes on), or hold a band open at its best
count when nothing can prove it in time; and the shares of time its LP and search take."""

from __future__ import annotations

from dataclasses import dataclass

from matcher.backends.settings import SolverSettings
from matcher.objective import SOFT, Stage


@dataclass(frozen=True)
class StagePlan:
    """How one stage is solved."""

    by_cbc: bool  # CBC can prove the stage (in process or in a worker)
    settled: bool  # after the search, CP-SAT solves the stage whole or CBC proves it
    proved_aside: bool  # CBC proves the band in a worker while the run goes on
    held_open: bool  # a band nothing proves in time: held open at its best count
    search_share: float  # of the band's remaining time, for the neighbourhood search
    lp_share: float  # of the stage's remaining time, for its LP and guided piece


def plan_stage(settings: SolverSettings, stage: Stage, n_free: int) -> StagePlan:
    """The plan for `stage`, whose sub-model has `n_free` free variables."""
    band = stage.name != SOFT
    # A stage too big to solve whole in time is left to the neighbourhood search.
    whole = n_free <= settings.max_stage_variables
    in_background = settings.background_proofs > 0 and n_free >= settings.background_min_variables
    # A proof in a worker process costs the solving process no memory (the machine's it
    # does: 1.7 GiB beside the run on varied_large-4002), and starts from the incumbent, so
    # it may take larger stages than one in process.
    prover_limit = (
        settings.max_background_prover_variables if in_background else settings.max_prover_variables
    )
    by_cbc = settings.band_prover == "cbc" and n_free <= prover_limit
    settled = whole or (by_cbc and band)
    proved_aside = by_cbc and in_background and band
    held_open = not settled and band
    search_share = settings.band_search_share(by_cbc)
    if held_open:
        search_share = min(search_share, settings.open_band_share)
    # A stage neither proved nor solved whole is proven by its LP bound or not at all, and
    # its LP is the slowest: the LP and the piece may take all that is left. The soft stage
    # and one proved aside (held meanwhile at what the guided piece gives) give the LP the
    # larger share.
    lp_share = (
        1.0
        if not settled
        else settings.soft_lp_share
        if proved_aside or not band
        else settings.lp_guide_share
    )
    return StagePlan(by_cbc, settled, proved_aside, held_open, search_share, lp_share)
