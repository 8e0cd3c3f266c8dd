"""What an exact backend gives the stage loop (`matcher.backends.stage_loop`): how one stage
is solved, as a `StageStrategy`.

The loop hands a strategy each stage's start and, where the stage needs an exact solve, a
`StagePiece` (the sub-model of what the stage can move, its objective, a warm start, its
proven ceiling); the strategy answers with a `PieceOutcome`. One integer program per stage
(PuLP, and the cohort floors' solve) is `MaximiserStages`; CP-SAT's strategy adds its guided
start, neighbourhood search and background proofs (`matcher.backends.cpsat`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from matcher.backends.greedy import greedy_placements
from matcher.backends.piece_outcome import PieceOutcome
from matcher.backends.reduced_model import decode, encode
from matcher.backends.stage_run import StageRun
from matcher.backends.stage_terms import stage_hint, stage_objective
from matcher.backends.submodel import SparseModel, SubModel
from matcher.objective import Stage

# A piece's status while a band is proven elsewhere: the band is held at its count meanwhile.
PROVING = "PROVING"

# One integer program: (model, objective, start, seconds, relative gap) -> (values or None,
# proven bound, proven optimal).
Maximiser = Callable[
    [SparseModel, np.ndarray, np.ndarray, float, float], tuple[np.ndarray | None, int, bool]
]


def maximised(
    maximise: Maximiser,
    model: SparseModel,
    objective: np.ndarray,
    start: np.ndarray,
    time_limit_s: float,
    gap: float,
) -> PieceOutcome:
    """One integer program solved by `maximise`, as a `PieceOutcome`."""
    started = time.perf_counter()
    values, bound, proven = maximise(model, objective, start, time_limit_s, gap)
    status = "OPTIMAL" if proven else ("FEASIBLE" if values is not None else "UNKNOWN")
    return PieceOutcome(status, values, bound, time.perf_counter() - started)


@dataclass(frozen=True)
class StageStart:
    """A stage's incumbent value and proven ceiling, as the strategy leaves them before any
    exact solve."""

    value: int
    ceiling: int
    # False when nothing proves the stage in time: a band is held open at its value, the soft
    # stage ends the run.
    provable: bool = True
    # The soft stage's ceiling is a bound of its own (an LP's), reported even if the stage is
    # not solved; a start within the soft gap of it needs no solve.
    soft_ceiling_proven: bool = False


@dataclass(frozen=True)
class StagePiece:
    """What one exact solve of a stage reads."""

    run: StageRun
    stage: Stage
    sub: SubModel  # the model over what the stage can move
    value: int  # the incumbent's value for the stage
    ceiling: int  # proven: a band reaching it is done
    gap: float  # relative gap the stage may stop within (the soft stage's)
    entry: dict[str, object]  # the stage's log entry
    deadline: float  # when the run ends (`time.perf_counter()`)

    @cached_property
    def objective(self) -> np.ndarray:
        """The stage's objective over the sub-model's variables."""
        return stage_objective(self.stage.coefficients, self.sub.free)

    @cached_property
    def start(self) -> np.ndarray:
        """The incumbent on the sub-model's variables, without what the stage leaves out."""
        run = self.run
        return stage_hint(run.inst, run.layout, run.best, self.stage.active)[self.sub.free]


class StageStrategy:
    """How a backend solves one stage; the hooks it leaves alone do nothing."""

    def between_stages(self, run: StageRun, deadline: float) -> bool:
        """Work before each stage; returns whether it sent the run back (to resume there)."""
        return False

    def start(
        self, run: StageRun, deadline: float, start: StageStart, entry: dict[str, object]
    ) -> StageStart:
        """A better start (and ceiling) for the stage at `run.index`, if the backend has one."""
        return start

    def solve(self, piece: StagePiece, time_left: float) -> PieceOutcome:
        """The stage's piece maximised in `time_left` seconds; or `PROVING` for a band whose
        proof runs elsewhere, the stage then put in `run.proved_elsewhere` until it answers."""
        raise NotImplementedError

    def completed(self, run: StageRun, values: np.ndarray) -> np.ndarray:
        """A stage's solution as the next incumbent: the referrals it left out added back
        greedily where they fit, for the later stages' starts."""
        placements = greedy_placements(run.inst, start=decode(run.inst, run.layout, values))
        return encode(run.inst, run.layout, placements)

    def after_stages(self, run: StageRun, deadline: float) -> bool:
        """Work once every stage is done or stopped; returns whether the run goes again."""
        return False

    def close(self, run: StageRun) -> None:
        """Stop whatever still runs beside the loop."""


class MaximiserStages(StageStrategy):
    """Each stage one integer program (`maximise`). `complete=False` keeps a stage's solution
    as it is (the cohort floors: a greedy fill could break one)."""

    def __init__(self, maximise: Maximiser, complete: bool = True) -> None:
        self.maximise = maximise
        self.complete = complete

    def solve(self, piece: StagePiece, time_left: float) -> PieceOutcome:
        return maximised(
            self.maximise, piece.sub.model, piece.objective, piece.start, time_left, piece.gap
        )

    def completed(self, run: StageRun, values: np.ndarray) -> np.ndarray:
        return super().completed(run, values) if self.complete else values
