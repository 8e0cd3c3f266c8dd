"""The returns pack for a year of a 1,000 bed-space service, through the service.

`python -m benchmarks.returns_speed [-o DIR] [--seed N] [--beds 1000] [--referrals 1200]
[--move-outs 400] [--placements 300] [--repeats 9]` stores
`fixtures.generator.generate(seed, referrals, beds)` with its residents' arrivals spread over
the year before the service's date (`bedmatch load`), starts `bedmatch serve` on a free
loopback port, and gives it a year of history as a coordinator would: move-outs on past dates,
each with a reason and a destination, then placements in the bed-spaces they freed, each the
ranking's first choice. Then it asks for the year's returns (`GET /api/returns`) `repeats`
times, after one answer not measured, and the Excel download once.

Reported: the median and slowest answer against the 2 s target, the Excel download, and the
history it summed (stays, departures, placements). Writes `returns_speed.json` and `.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.machine import git_sha, machine_info
from benchmarks.output import write_figures
from benchmarks.serving import add_account, bedmatch_command, serving, sign_in
from fixtures.generator import generate

TARGET_S = 2.0
SECRET = "returns-speed-benchmark-secret-key"
ADMIN = ("returns-admin", "returns-admin-password")
COORDINATOR = ("returns-coordinator", "returns-coordinator-password")
REASONS = ["planned_move_on", "planned_move_on", "eviction", "abandonment", "hospital", "other"]
DESTINATIONS = ["own_tenancy", "social_housing", "private_rented", "family_friends", "unknown"]


def _store(database_url: str, seed: int, referrals: int, beds: int) -> Any:
    """The problem, its residents arriving over the year before its date, stored."""
    problem = generate(seed, referrals, beds)
    rng = random.Random(seed)
    residents = [
        r.model_copy(
            update={
                "arrived": problem.as_of - timedelta(days=rng.randint(20, 365)),
                "expected_leave": None,
            }
        )
        for r in problem.residents
    ]
    problem = problem.model_copy(update={"residents": residents})
    loaded = subprocess.run(
        [*bedmatch_command(), "load", "-", "--database-url", database_url],
        input=problem.model_dump_json(),
        capture_output=True,
        text=True,
        check=False,
        env={
            **os.environ,
            "BEDMATCH_ADMIN_USERNAME": ADMIN[0],
            "BEDMATCH_ADMIN_PASSWORD": ADMIN[1],
        },
    )
    if loaded.returncode != 0:
        raise RuntimeError(f"bedmatch load failed: {loaded.stderr}")
    json.loads(loaded.stdout)
    return problem


def run(
    seed: int = 7001,
    beds: int = 1000,
    referrals: int = 1200,
    move_outs: int = 400,
    placements: int = 300,
    repeats: int = 9,
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bedmatch-returns-"))
    database_url = f"sqlite:///{workdir / 'returns.db'}"
    try:
        problem = _store(database_url, seed, referrals, beds)
        rng = random.Random(seed + 1)
        with serving(database_url, SECRET) as base:
            admin = sign_in(base, *ADMIN)
            add_account(base, admin, *COORDINATOR, "coordinator")
            headers = {"Authorization": f"Bearer {sign_in(base, *COORDINATOR)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                leaving = rng.sample(
                    [r for r in problem.residents if r.arrived is not None],
                    min(move_outs, len(problem.residents)),
                )
                departed = 0
                for resident in leaving:
                    assert resident.arrived is not None
                    stay = rng.randint(1, (problem.as_of - resident.arrived).days)
                    answer = client.post(
                        f"/api/residents/{resident.id}/move-out",
                        json={
                            "on": (resident.arrived + timedelta(days=stay)).isoformat(),
                            "reason": rng.choice(REASONS),
                            "destination": rng.choice(DESTINATIONS),
                        },
                    )
                    departed += answer.status_code == 200
                placed = 0
                for referral in rng.sample(problem.referrals, len(problem.referrals)):
                    if placed >= placements:
                        break
                    ranking = client.get(
                        f"/api/referrals/{referral.id}/rank", params={"top": 1, "detail": "summary"}
                    )
                    if ranking.status_code != 200 or not ranking.json()["ranked"]:
                        continue
                    top = ranking.json()["ranked"][0]
                    if top["partners"]:
                        continue
                    answer = client.post(
                        "/api/placements",
                        json={"referral": referral.id, "bedspace": top["bedspace"]},
                    )
                    placed += answer.status_code == 201
                span = {
                    "from": (problem.as_of - timedelta(days=364)).isoformat(),
                    "to": problem.as_of.isoformat(),
                }
                first = client.get("/api/returns", params=span)
                first.raise_for_status()
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    client.get("/api/returns", params=span).raise_for_status()
                    times.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.get("/api/returns.xlsx", params=span).raise_for_status()
                xlsx_s = time.perf_counter() - started
                summary = dict(first.json()["tables"]["summary"][1:])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    median_s = statistics.median(times)
    return {
        "machine": machine_info(),
        "commit": git_sha(),
        "instance": {"seed": seed, "beds": beds, "referrals": referrals},
        "history": {
            "residents": len(problem.residents),
            "move_outs": departed,
            "placements": placed,
            "departures_in_year": summary.get("departures"),
            "placements_in_year": summary.get("placements"),
        },
        "returns_s": {
            "median": round(median_s, 3),
            "max": round(max(times), 3),
            "runs": len(times),
        },
        "xlsx_s": round(xlsx_s, 3),
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
