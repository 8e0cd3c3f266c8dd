"""Outcome figures for a year of a 1,000 bed-space service, through the service.

`python -m benchmarks.outcomes_speed [-o DIR] [--seed N] [--beds 1000] [--referrals 1200]
[--move-outs 400] [--placements 300] [--returns 100] [--repeats 9]` records a year of a
service through the service (`benchmarks.year_of_service`, people referred again among the
events) and times the year's outcomes (`GET /api/outcomes`) and their Excel download.

Reported: the median and slowest answer against the 2 s target (issue 27), the download, and
the events the figures summed. Writes `outcomes_speed.json` and `.md`.
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
    returns: int = 100,
    repeats: int = 9,
) -> dict[str, Any]:
    year = measure_year(
        "/api/outcomes", seed, beds, referrals, move_outs, placements, returns, repeats
    )
    tables = year.first["tables"]
    head, everyone_row = tables["by group of people"][:2]
    everyone = dict(zip(head, everyone_row, strict=True))
    median_s = statistics.median(year.times)
    return {
        "machine": machine_info(),
        "commit": git_sha(),
        "instance": {"seed": seed, "beds": beds, "referrals": referrals},
        "history": {
            "residents": len(year.problem.residents),
            **year.events,
            "stays_ended_in_year": everyone.get("stays ended"),
            "groups": sum(len(rows) - 1 for rows in tables.values()),
        },
        "outcomes_s": {
            "median": round(median_s, 3),
            "max": round(max(year.times), 3),
            "runs": len(year.times),
        },
        "xlsx_s": round(year.xlsx_s, 3),
        "target_s": TARGET_S,
        "met": median_s <= TARGET_S,
    }


def markdown(result: dict[str, Any]) -> str:
    h, r = result["history"], result["outcomes_s"]
    verdict = "meets" if result["met"] else "**misses**"
    return (
        "# Outcome figures: a year of a service, through the service\n\n"
        f"{result['instance']['beds']:,} bed-spaces, {result['instance']['referrals']:,} "
        f"referrals (seed {result['instance']['seed']}); {h['residents']:,} residents "
        f"arriving over the year, {h['move_outs']:,} move-outs on past dates, "
        f"{h['referred_again']:,} people referred again and {h['placements']:,} placements "
        f"recorded through the API ({h['stays_ended_in_year']} stays ended in the year, "
        f"{h['groups']} groups); commit `{result['commit'][:12]}`.\n\n"
        "| figure | median s | slowest s | runs |\n| --- | ---: | ---: | ---: |\n"
        f"| `GET /api/outcomes` for the year | {r['median']} | {r['max']} | {r['runs']} |\n"
        f"| `GET /api/outcomes.xlsx` (once) | {result['xlsx_s']} | | 1 |\n\n"
        f"Target: the year's outcome figures in at most {result['target_s']} s: {verdict} it.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="bench-out")
    parser.add_argument("--seed", type=int, default=7001)
    parser.add_argument("--beds", type=int, default=1000)
    parser.add_argument("--referrals", type=int, default=1200)
    parser.add_argument("--move-outs", type=int, default=400)
    parser.add_argument("--placements", type=int, default=300)
    parser.add_argument("--returns", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    result = run(
        args.seed,
        args.beds,
        args.referrals,
        args.move_outs,
        args.placements,
        args.returns,
        args.repeats,
    )
    write_figures(result, markdown(result), args.output, "outcomes_speed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
