"""Progress of a long solve, stage by stage (bands 5 to 1, then the soft points).

The exact backends keep a log entry per stage in their result's detail; an entry made by
`stage_entry` also reports each update (its best value, bound and status so far) to the
`bedmatch.solve.progress` logger, so whoever runs a solve can show it while it runs (the
command line does, on stderr) and a library caller hears nothing unless it listens.
"""

from __future__ import annotations

import logging
import time
from typing import Any

LOGGER = logging.getLogger("bedmatch.solve.progress")


class StageEntry(dict[str, object]):
    """A stage's log entry (a plain dict to its readers) whose updates are reported."""

    def __init__(self, stage: str, began: float) -> None:
        super().__init__(stage=stage)
        self.began = began

    def update(self, *args: Any, **values: Any) -> None:  # type: ignore[override]
        super().update(*args, **values)
        if LOGGER.isEnabledFor(logging.INFO):
            LOGGER.info(
                "%s",
                describe(self),
                extra={"stage": self["stage"], "elapsed_s": time.perf_counter() - self.began},
            )


def stage_entry(stage: str, began: float) -> StageEntry:
    """A new stage's log entry; `began` is when the solve began (`time.perf_counter()`)."""
    return StageEntry(stage, began)


def describe(entry: dict[str, object]) -> str:
    """The stage so far in words: "band 3: 212 placed, at most 214 (searching)"."""
    stage = str(entry["stage"])
    soft = stage == "soft"
    value, bound = entry.get("value", entry.get("search_value")), entry.get("bound")
    parts = ["soft points:" if soft else f"{stage.replace('_', ' ')}:"]
    if value is not None:
        parts.append(f"{value}" if soft else f"{value} placed")
    if bound is not None and bound != value:
        parts.append(f"(at most {bound})")
    state = _state(entry, value, bound)
    if state:
        parts.append(f"· {state}")
    return " ".join(parts)


def _state(entry: dict[str, object], value: object, bound: object) -> str:
    if entry.get("skipped") or (value is not None and value == bound):
        return "proven"
    status = str(entry.get("status", ""))
    return {
        "OPTIMAL": "proven",
        "OPEN": "left open: no proof in time",
        "PROVING": "being proven in the background",
        "FEASIBLE": "best found, not proven",
    }.get(status, "searching" if not status else status.lower())
