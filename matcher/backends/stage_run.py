"""The state of one stage-by-stage solve, and the small records its parts pass round."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from matcher.backends.classes import Instance
from matcher.backends.cut_pool import CutPool
from matcher.backends.linear import Row
from matcher.backends.lp_worker import BackgroundLp
from matcher.backends.proof_worker import BackgroundProof
from matcher.backends.reduced_model import ModelLayout
from matcher.backends.relaxation import StageCeilings
from matcher.backends.submodel import SparseModel, SubModel
from matcher.objective import SOFT, Stage


@dataclass(frozen=True)
class StageAt:
    """A stage and the model it is solved on: what every solve of a piece of it reads."""

    inst: Instance
    layout: ModelLayout
    full: SparseModel  # the model with the bands before the stage held at their counts
    stage: Stage


@dataclass
class PendingProof:
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
class SoftLpAhead:
    """The soft stage's LP, started in a worker beside a band held open (`lp_worker`)."""

    lp: BackgroundLp
    held: dict[str, int]  # the band counts its model holds: it bounds any run holding more

    def still_relaxes(self, held: dict[str, int]) -> bool:
        """Whether the run's held counts (`held`) are each at least those the LP assumed, so
        that its bound is a bound for the run's soft stage (a proof that sent the run back
        may have changed them)."""
        return all(held.get(name, -1) >= count for name, count in self.held.items())


@dataclass
class StageRun:
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
    pending: list[PendingProof] = field(default_factory=list)
    stopped: bool = False  # time stopped a stage before it was proven
    # Bands held open: proofs that ended unproven, and stages nothing could prove in time.
    open_stages: set[int] = field(default_factory=set)
    # When the run first had every band stage proven (perf_counter), if it has.
    bands_proven_at: float | None = None
    soft_lp: SoftLpAhead | None = None
    began: float = field(default_factory=time.perf_counter)
    # The unit cuts found so far: they hold in every stage, and strengthen the band proofs.
    cuts: CutPool = field(default_factory=CutPool)

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
