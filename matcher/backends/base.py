"""What a solver backend is: a name, whether it can run here, and `solve`.

Every backend reads the same `Instance` (the rules of `constraints/`, reduced to bed-space
classes) and returns concrete placements plus whatever it proved about each stage of the
lexicographic objective (`matcher.objective`). `matcher.solve` turns that into a `Solution`,
checks it with the checker and falls back to greedy when anything is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from matcher.backends.classes import Assignment3, Instance

# The `detail` key for when every band stage was proven optimal, in seconds from the start
# of the backend's solve (the solve's, in a `Solution`): the counts per band are final then.
BANDS_PROVEN_S = "bands_proven_s"


@dataclass
class BackendResult:
    placements: list[Assignment3]
    # Proven upper bound of each stage the backend reached, with earlier stages held fixed.
    stage_bounds: dict[str, int] = field(default_factory=dict)
    # True when the time limit stopped a stage before it was proven optimal.
    timed_out: bool = False
    # True when the backend had no solution of its own (the caller should use greedy).
    no_solution: bool = False
    detail: dict[str, object] = field(default_factory=dict)


class Backend(Protocol):
    name: str

    def available(self) -> bool: ...

    def solve(
        self,
        instance: Instance,
        time_limit_s: float,
        hint: list[Assignment3] | None = None,
    ) -> BackendResult: ...
