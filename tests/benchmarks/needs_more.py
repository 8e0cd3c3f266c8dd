"""A contributed script whose `run` needs an argument the runner never offers."""

from __future__ import annotations

from typing import Any


def run(connection_string: str) -> dict[str, Any]:
    return {"connected": connection_string}
