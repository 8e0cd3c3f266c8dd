"""Every tuning knob of the exact backends' stage loop, in one frozen object.

`CpSatBackend(SolverSettings(...))` takes it whole; the piece solvers, the priced LP and the
unit bounds read the fields they need from the same object. Each default was measured on the
generated instances: the figures behind them are in `benchmarks/NOTES.md` ("Batch solver").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

BAND_PROVERS = ("cbc", "cpsat")
BAND_MIP_SOLVERS = ("cbc", "highs")


@dataclass(frozen=True)
class SolverSettings:
    """The stage loop's knobs; the defaults are what the published benchmarks ran with."""

    # CP-SAT's search workers: 8 close small stages several times faster than 2 on 2 cores.
    num_workers: int = 8
    # The soft stage stops within this relative gap of its bound (0: run to optimality).
    soft_gap: float = 0.0
    # CP-SAT prints its search log: for a person reading one solve, never in service.
    log: bool = False
    # Any further CP-SAT parameter, by name, set after the ones above.
    parameters: Mapping[str, Any] = field(default_factory=dict)
    # Part of a band's remaining time for the neighbourhood search; None: 0.1 or 0.3 (below).
    search_share: float | None = None
    # The search's random choices and CP-SAT's seed: a run is repeatable.
    seed: int = 0
    # A larger stage is not solved whole by CP-SAT: it found no solution in time above this.
    max_stage_variables: int = 120_000
    # What proves a band stage: "cbc" (its cuts close gaps CP-SAT's bound stalls in) or "cpsat".
    band_prover: str = "cbc"
    # Which integer-programming solver proves a band where `band_prover` is "cbc": CBC, or
    # HiGHS (in its worker, `matcher.backends.highs_worker`), warm-started from the incumbent.
    # On nine varied_medium shapes HiGHS proved no more instances than CBC (NOTES: "HiGHS as
    # CP-SAT's band prover, measured and left off").
    band_mip_solver: str = "cbc"
    # The largest stage CBC proves in process: its memory grows about 12 KiB a variable.
    max_prover_variables: int = 120_000
    # The largest stage CBC proves in a worker (it starts warm; its memory is not the solving
    # process's but is the machine's, the same 12 KiB a variable).
    max_background_prover_variables: int = 250_000
    # Solve each stage's LP relaxation: a proven ceiling and a guided piece for CBC.
    lp_guide: bool = True
    # A band stage's LP is solved whole by GLOP up to this size and priced beyond it.
    max_lp_variables: int = 200_000
    # The soft stage's LP is priced beyond this: GLOP whole did not finish on medium in time.
    max_soft_lp_variables: int = 50_000
    # The solving process and its proof workers together stay within this many MiB: a band
    # proof in a worker that would take them past it is not started (0: no budget). None by
    # default: at 2,048 on varied_large, 4002's band-5 proof (which finds the 627th person)
    # was not started, and band 5 ended open at 626.
    memory_budget_mib: int = 0
    # What a CBC proof needs a variable, for that budget (measured: about 12 KiB).
    cbc_kib_per_variable: int = 12
    # Band proofs running at once in worker processes (the cores here; 0: all in process).
    background_proofs: int = 2
    # A smaller band proof runs in process: a worker costs about a second to start.
    background_min_variables: int = 20_000
    # CP-SAT's workers while a background proof needs a core.
    workers_while_proving: int = 2
    # Race CP-SAT against CBC on a soft piece CBC has not closed soon.
    race_soft_pieces: bool = True
    # Race CP-SAT against CBC on a band stage proved in process that CBC has not closed soon:
    # on some small stages CBC proves nothing in a minute where CP-SAT proves in seconds.
    race_band_proofs: bool = True
    # Tighten a band's LP bound by solving units whole once its piece falls short of it.
    unit_bounds: bool = True

    # The part of a band stage's remaining time the LP relaxation and its guided piece take.
    lp_guide_share: float = 0.25
    # The soft stage's (and a band proved aside's) LP share: its LP is the slowest of the run.
    soft_lp_share: float = 0.6
    # A slow LP still leaves its piece at least this part of the time left.
    piece_share: float = 0.1
    # Of a band's LP-and-piece time, what solving units whole may take.
    unit_bound_share: float = 0.1
    # Tighten a band's whole LP by cuts on how many of a unit's candidates fit at once
    # (`matcher.backends.unit_cuts`) before solving units whole, in at most this part of
    # its LP-and-piece time.
    unit_cuts: bool = True
    unit_cut_share: float = 0.3
    # Give a band's CBC proof every unit cut the run has found so far, as rows of its model.
    proof_cuts: bool = True
    # A band held open gives its wider piece and its search at most this part of what is left.
    open_band_share: float = 0.1
    # A piece gets at least this while the limit allows: CBC needs about a second to load one.
    min_piece_seconds: float = 2.0
    # Each referral's pairs of best reduced cost the wider piece adds (5 made it too big).
    wider_piece_pairs: int = 2
    # What the soft stage's wider piece leaves of the limit (CBC overruns it a little).
    piece_reserve_seconds: float = 1.0
    # A band's priced LP share of its LP-and-piece time: its columns guide before it converges.
    priced_lp_share: float = 0.6
    # The soft stage's priced LP share: at 0.6 the large soft piece was left too little time.
    soft_priced_lp_share: float = 0.5
    # The part of the time left the soft LP started beside a band held open may take.
    soft_lp_ahead_share: float = 0.6
    # Less time than this is not worth that worker's start (about a second to read the model).
    min_ahead_seconds: float = 3.0
    # How often the run looks at its background proofs.
    proof_poll_seconds: float = 0.05
    # How often a raced CP-SAT search looks whether CBC has ended.
    race_poll_seconds: float = 0.05
    # CP-SAT's workers in a race: CBC has the other core.
    race_workers: int = 2
    # A piece CBC has not closed by then is raced: most soft pieces it closes in 1-4 s alone.
    race_after_seconds: float = 3.0
    # Larger pieces are CBC's alone: CP-SAT beside it only raised the peak memory.
    max_race_variables: int = 10_000
    # CBC overruns its clock by up to about a second in preprocessing.
    proof_overrun_seconds: float = 1.0
    # CPU niceness per earlier band's proof running beside a proof (and of the soft LP ahead).
    proof_niceness: int = 10
    # The neighbourhood search's piece: at most this many units ...
    max_units: int = 12
    # ... and placed people free to move, so CP-SAT closes a piece in about a second.
    max_movers: int = 200
    # The search gives up after this many rounds without a gain (at least).
    min_stalled_rounds: int = 10
    # Seconds one neighbourhood-search round's solve may take.
    round_seconds: float = 2.0

    # Seconds any one unit's integer program may take (`matcher.backends.block_bound`).
    unit_seconds: float = 2.0
    # The priced LP's first columns: each referral's best-scoring pairs, this many.
    start_columns_per_referral: int = 10
    # Columns a pricing round adds: half the priced ones, at least this many ...
    add_at_least: int = 20_000
    # ... and at most this many (all at once made the next LP too big to solve in time).
    most_per_round: int = 40_000
    # A round bringing in at most this many columns starts from the last basis.
    warm_start_most: int = 4_000

    def __post_init__(self) -> None:
        if self.band_prover not in BAND_PROVERS:
            raise ValueError(f"band_prover must be 'cbc' or 'cpsat', not {self.band_prover!r}")
        if self.band_mip_solver not in BAND_MIP_SOLVERS:
            raise ValueError(
                f"band_mip_solver must be 'cbc' or 'highs', not {self.band_mip_solver!r}"
            )

    def band_search_share(self, by_cbc: bool) -> float:
        """The neighbourhood search's share of a band's time: CBC finds a band's optimum
        itself, so where it proves the band the search only needs to give it a start."""
        if self.search_share is not None:
            return self.search_share
        return 0.1 if by_cbc else 0.3


DEFAULT_SETTINGS = SolverSettings()
