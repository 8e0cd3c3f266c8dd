"""What one exact solve of a piece of a stage gave, whichever solver ran it."""

from __future__ import annotations

import numpy as np


class PieceOutcome:
    """What one solve of a piece gave: its status, values, proven bound and time."""

    def __init__(self, status: str, values: np.ndarray | None, bound: int, seconds: float):
        self.status = status
        self.values = values
        self.bound = bound
        self.seconds = seconds

    @property
    def optimal(self) -> bool:
        return self.status == "OPTIMAL"
