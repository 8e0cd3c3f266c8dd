"""How fast the portfolio simulation runs: one replication, and replications across workers.

    python -m benchmarks.simulation_speed [--beds 1000] [--days 365] [--repeat 1]
        [--cpsat] [--speedup-replications 4] [-o bench/simulation]

Measures, medians over `--repeat`:

- one year of a 1,000 bed-space portfolio with daily greedy allocation (target ≤ 60 s), and
  with CP-SAT when `--cpsat` is given (target ≤ 300 s);
- the same replications run on 1 and on 2 local worker processes, whose ratio is the
  speed-up (near-linear means close to 2 with 2 workers); the 1-worker run is the baseline
  measured in the same run.

Writes `simulation_speed.json` and `simulation_speed.md` (drawn from the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from capacity.replications import run_replications
from capacity.scenario import Scenario, parse_scenario
from capacity.simulation import Simulation

TARGETS_S = {"greedy": 60.0, "cpsat": 300.0}


def _scenario(beds: int, days: int, backend: str, time_limit_s: float = 5.0) -> Scenario:
    return parse_scenario(
        {
            "name": f"{beds}_beds_{days}_days_{backend}",
            "seed": 1,
            "horizon_days": days,
            "portfolio": {"seed": 1, "beds": beds},
            "allocation": {"backend": backend, "time_limit_s": time_limit_s, "every": "day"},
        }
    )


def _one_replication(scenario: Scenario, repeat: int) -> dict[str, Any]:
    walls, solves, placed = [], [], []
    for replication in range(repeat):
        result = Simulation(scenario, replication).run()
        walls.append(result.wall_seconds)
        solves.append(result.solve_seconds)
        placed.append(result.cohorts["all"].placed)
    backend = scenario.allocation.backend
    median = statistics.median(walls)
    return {
        "backend": backend,
        "bedspaces": scenario.portfolio.beds,
        "days": scenario.horizon_days,
        "repeat": repeat,
        "wall_seconds_median": median,
        "wall_seconds": walls,
        "solve_seconds_median": statistics.median(solves),
        "placed_median": statistics.median(placed),
        "target_seconds": TARGETS_S[backend],
        "ratio_to_target": median / TARGETS_S[backend],
        "meets_target": median <= TARGETS_S[backend],
    }


def _speedup(scenario: Scenario, replications: int) -> dict[str, Any]:
    timings = {}
    for workers in (1, 2):
        started = time.perf_counter()
        run_replications([scenario], replications, workers=workers, progress=False)
        timings[workers] = time.perf_counter() - started
    return {
        "replications": replications,
        "bedspaces": scenario.portfolio.beds,
        "days": scenario.horizon_days,
        "seconds_1_worker": timings[1],
        "seconds_2_workers": timings[2],
        "speedup_2_workers": timings[1] / timings[2],
        "cores": os.cpu_count(),
    }


def _git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown(record: dict[str, Any]) -> str:
    lines = [
        "# Simulation speed",
        "",
        f"git {record['git_sha'][:12]}, {record['machine']}, {record['cores']} cores.",
        "",
        "| allocation | bed-spaces | days | median wall (s) | solve (s) | target (s) | "
        "ratio to target | meets |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in record["replication"]:
        lines.append(
            f"| {row['backend']} | {row['bedspaces']} | {row['days']} | "
            f"{row['wall_seconds_median']:.1f} | {row['solve_seconds_median']:.1f} | "
            f"{row['target_seconds']:.0f} | {row['ratio_to_target']:.2f} | "
            f"{'yes' if row['meets_target'] else 'no'} |"
        )
    s = record["speedup"]
    if s:
        lines += [
            "",
            "| replications | bed-spaces | days | 1 worker (s) | 2 workers (s) | speed-up |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |",
            f"| {s['replications']} | {s['bedspaces']} | {s['days']} | "
            f"{s['seconds_1_worker']:.1f} | {s['seconds_2_workers']:.1f} | "
            f"{s['speedup_2_workers']:.2f}× |",
        ]
    return "\n".join(lines) + "\n"


def run(
    beds: int = 1000,
    days: int = 365,
    repeat: int = 1,
    cpsat: bool = False,
    cpsat_time_limit_s: float = 2.0,
    speedup_replications: int = 4,
    speedup_beds: int = 300,
    speedup_days: int = 120,
    out_dir: str | Path = "bench/simulation",
) -> dict[str, Any]:
    """Measure, write `simulation_speed.json` and `.md` into `out_dir`, return the record."""
    rows = [_one_replication(_scenario(beds, days, "greedy"), repeat)]
    if cpsat:
        rows.append(_one_replication(_scenario(beds, days, "cpsat", cpsat_time_limit_s), repeat))
    speedup = (
        _speedup(_scenario(speedup_beds, speedup_days, "greedy"), speedup_replications)
        if speedup_replications > 0
        else {}
    )
    record = {
        "benchmark": "simulation_speed",
        "git_sha": _git_sha(),
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "replication": rows,
        "speedup": speedup,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulation_speed.json").write_text(json.dumps(record, indent=2) + "\n")
    (out / "simulation_speed.md").write_text(markdown(record))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--beds", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cpsat", action="store_true")
    parser.add_argument("--cpsat-time-limit", type=float, default=2.0)
    parser.add_argument("--speedup-replications", type=int, default=4)
    parser.add_argument("-o", "--output", default="bench/simulation")
    args = parser.parse_args()
    record = run(
        beds=args.beds,
        days=args.days,
        repeat=args.repeat,
        cpsat=args.cpsat,
        cpsat_time_limit_s=args.cpsat_time_limit,
        speedup_replications=args.speedup_replications,
        out_dir=args.output,
    )
    print(markdown(record))


if __name__ == "__main__":
    main()
