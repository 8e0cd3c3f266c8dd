"""Small contributed-script shapes the runner must call correctly (used by test_runner)."""

from __future__ import annotations

from typing import Any


def run(beds: int, repeat: int = 1, samples: int = 7) -> dict[str, Any]:
    """Echo what it was given, as a benchmark script returns its figures."""
    return {"beds": beds, "repeat": repeat, "samples": samples}
