"""The state of one stage-by-stage solve, and the small records its parts pass round."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from matcher.backends.classes import Instance
from matcher.backends.linear import Row
from matcher.backends.reduced_model import ModelLayout
from matcher.backends.relaxation import StageCeilings
from matcher.backends.submodel import SparseModel
from matcher.objective import SOFT, Stage


@dataclass(frozen=True)
class StageAt:
    """A stage and the model it is solved on: what every solve of a piece of it reads."""

    inst: Instance
    layout: ModelLayout
    full: SparseModel  # the model with the bands before the stage held at their counts
    stage: Stage


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
    # Bands held at their count while a proof runs outside the loop (the backend's).
    proved_elsewhere: set[int] = field(default_factory=set)
    stopped: bool = False  # time stopped a stage before it was proven
    # Bands held open: proofs that ended unproven, and stages nothing could prove in time.
    open_stages: set[int] = field(default_factory=set)
    # When the run first had every band stage proven (perf_counter), if it has.
    bands_proven_at: float | None = None
    began: float = field(default_factory=time.perf_counter)

    def note_bands_proven(self) -> None:
        """Note the time if every band stage is now done and proven: a proof in a worker is
        read between stages, so the time noted can be later than the proof's own end."""
        past_bands = all(stage.name == SOFT for stage in self.stages[self.index :])
        settled = not (self.proved_elsewhere or self.open_stages)
        if self.bands_proven_at is None and past_bands and settled:
            self.bands_proven_at = time.perf_counter()

    def hold(self, value: int) -> None:
        """Hold the current band stage at `value` from here on and move to the next."""
        stage = self.stages[self.index]
        nz = np.flatnonzero(stage.coefficients)
        self.ceilings.hold(stage.name, value)
        self.full = self.full.with_rows([Row(nz, stage.coefficients[nz], value, None)])
        self.index += 1
