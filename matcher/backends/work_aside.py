"""CP-SAT's work beside its stage loop: band proofs in worker processes, the soft stage's LP
started ahead, and the unit cuts found so far. The loop itself knows only which stages are
proved elsewhere (`StageRun.proved_elsewhere`); what runs where is this record's."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matcher.backends.cut_pool import CutPool
from matcher.backends.lp_worker import BackgroundLp
from matcher.backends.proof_worker import BackgroundProof
from matcher.backends.settings import SolverSettings
from matcher.backends.submodel import SparseModel, SubModel


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
class WorkAside:
    """What one CP-SAT solve runs or keeps beside its stage loop."""

    pending: list[PendingProof] = field(default_factory=list)
    soft_lp: SoftLpAhead | None = None
    # The unit cuts found so far: they hold in every stage, and strengthen the band proofs.
    cuts: CutPool = field(default_factory=CutPool)

    @property
    def proving(self) -> int:
        """Background proofs running now (not those waiting for a free worker)."""
        return sum(1 for pending in self.pending if pending.proof is not None)

    def cpsat_workers(self, settings: SolverSettings) -> int | None:
        """CP-SAT's workers: fewer while background proofs need a core (None: the setting)."""
        if self.proving:
            return max(1, min(settings.num_workers, settings.workers_while_proving))
        return None
