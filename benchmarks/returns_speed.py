"""The returns pack for a year of a 1,000 bed-space service, through the service.

`python -m benchmarks.returns_speed [-o DIR] [--seed N] [--beds 1000] [--referrals 1200]
[--move-outs 400] [--placements 300] [--repeats 9]` records a year of a service through the
service (`benchmarks.year_of_service`) and times the year's returns (`GET /api/returns`) and
their Excel download.

Reported: the median and slowest answer against the 2 s target, the Excel download, and the
history it summed (stays, departures, placements). Writes `returns_speed.json` and `.md`.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from typing import Any

from benchmarks.machine import git_sha, machine_info
from benchmarks.output import write_figures
from benchmarks.year_of_service import measure_year

TARGET_S = 2.0


def run(
    seed: int = 7001,
    beds: int = 1000,
    referrals: int = 1200,
    move_outs: int = 400,
    placements: int = 300,
    repeats: int = 9,
) -> dict[str, Any]:
    year = measure_year("/api/returns", seed, beds, referrals, move_outs, placements, 0, repeats)
    summary = dict(year.first["tables"]["summary"][1:])
    median_s = statistics.median(year.times)
    return {
        "machine": machine_info(),
        "commit": git_sha(),
        "instance": {"seed": seed, "beds": beds, "referrals": referrals},
        "history": {
            "residents": len(year.problem.residents),
            "move_outs": year.events["move_outs"],
            "placements": year.events["placements"],
            "departures_in_year": summary.get("departures"),
            "placements_in_year": summary.get("placements"),
        },
        "returns_s": {
            "median": round(median_s, 3),
            "max": round(max(year.times), 3),
            "runs": len(year.times),
        },
        "xlsx_s": round(year.xlsx_s, 3),
        "target_s": TARGET_S,
        "met": median_s <= TARGET_S,
    }


def markdown(result: dict[str, Any]) -> str:
    h, r = result["history"], result["returns_s"]
    verdict = "meets" if result["met"] else "**misses**"
    return (
        "# Returns pack: a year of a service, through the service\n\n"
        f"{result['instance']['beds']:,} bed-spaces, {result['instance']['referrals']:,} "
        f"referrals (seed {result['instance']['seed']}); {h['residents']:,} residents "
        f"arriving over the year, {h['move_outs']:,} move-outs on past dates and "
        f"{h['placements']:,} placements recorded through the API; commit "
        f"`{result['commit'][:12]}`.\n\n"
        "| figure | median s | slowest s | runs |\n| --- | ---: | ---: | ---: |\n"
        f"| `GET /api/returns` for the year | {r['median']} | {r['max']} | {r['runs']} |\n"
        f"| `GET /api/returns.xlsx` (once) | {result['xlsx_s']} | | 1 |\n\n"
        f"Target: the year's returns in at most {result['target_s']} s: {verdict} it.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="bench-out")
    parser.add_argument("--seed", type=int, default=7001)
    parser.add_argument("--beds", type=int, default=1000)
    parser.add_argument("--referrals", type=int, default=1200)
    parser.add_argument("--move-outs", type=int, default=400)
    parser.add_argument("--placements", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    result = run(
        args.seed, args.beds, args.referrals, args.move_outs, args.placements, args.repeats
    )
    write_figures(result, markdown(result), args.output, "returns_speed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
