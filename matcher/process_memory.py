"""This process's resident memory now: what the solver's memory budget and the benchmarks read."""

from __future__ import annotations

import os
from pathlib import Path


def resident_bytes() -> int | None:
    """This process's resident memory now, where /proc says it (None elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")
