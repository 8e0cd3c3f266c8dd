"""A solve's stages on stderr while it runs (`matcher.progress`): on a terminal one line per
stage, rewritten as its best value and bound improve; otherwise (a log file, CI) one line
per stage as it settles, so the output stays readable."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from matcher.progress import LOGGER


class StageLines(logging.Handler):
    def __init__(self, stream: TextIO, live: bool) -> None:
        super().__init__(logging.INFO)
        self.stream, self.live = stream, live
        self.stage: str | None = None
        self.line = ""

    def emit(self, record: logging.LogRecord) -> None:
        stage = str(getattr(record, "stage", ""))
        line = f"{record.getMessage()} · {getattr(record, 'elapsed_s', 0.0):.1f} s"
        if self.live:
            ending = "\n" if self.stage not in (None, stage) else ""
            # Pad over the longer line it replaces.
            self.stream.write(f"{ending}\r{line.ljust(len(self.line))}")
            self.stream.flush()
        elif self.stage not in (None, stage):
            self.stream.write(f"{self.line}\n")
        self.stage, self.line = stage, line

    def finish(self) -> None:
        if self.stage is not None:
            self.stream.write("\n" if self.live else f"{self.line}\n")
            self.stream.flush()
        self.stage, self.line = None, ""


@contextmanager
def stage_progress(stream: TextIO, shown: bool) -> Iterator[None]:
    """Show the stages of any solve run inside the block on `stream`, if `shown`."""
    if not shown:
        yield
        return
    lines = StageLines(stream, live=stream.isatty())
    level, propagate = LOGGER.level, LOGGER.propagate
    LOGGER.addHandler(lines)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False  # the lines are shown here, not again by a root handler
    try:
        yield
    finally:
        lines.finish()
        LOGGER.removeHandler(lines)
        LOGGER.setLevel(level)
        LOGGER.propagate = propagate
