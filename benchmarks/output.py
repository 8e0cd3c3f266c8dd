"""Where a stand-alone benchmark script puts its figures: `<name>.json`, `<name>.md`, stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def write_figures(result: dict[str, Any], table: str, directory: str | Path, name: str) -> None:
    """Write the figures as JSON and their Markdown table into `directory`; echo the table."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / f"{name}.md").write_text(table)
    sys.stdout.write(table)
