"""Outcome figures for a year of a 1,000 bed-space service, through the service.

`python -m benchmarks.outcomes_speed [-o DIR] [--seed N] [--beds 1000] [--referrals 1200]
[--move-outs 400] [--placements 300] [--returns 100] [--repeats 9]` stores the same service
as `benchmarks.returns_speed` (residents arriving over the year before the service's date,
`bedmatch load`), starts `bedmatch serve` on a free loopback port, and gives it a year of
events as a coordinator would: move-outs on past dates, each with a reason and a destination;
some of the people who left referred again weeks or months later (their case reference the
resident's id); then placements in the bed-spaces the move-outs freed. Then it asks for the
year's outcomes (`GET /api/outcomes`) `repeats` times, after one answer not measured, and for
the Excel download once.

Reported: the median and slowest answer against the 2 s target (issue 27), the download, and
the events the figures summed. Writes `outcomes_speed.json` and `.md`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.machine import git_sha, machine_info
from benchmarks.output import write_figures

# The same stored service as the returns pack's, with its first admin.
from benchmarks.returns_speed import ADMIN, _store
from benchmarks.serving import add_account, serving, sign_in

TARGET_S = 2.0
SECRET = "outcomes-speed-benchmark-secret-key"
COORDINATOR = ("outcomes-coordinator", "outcomes-coordinator-password")
REASONS = ["planned_move_on", "planned_move_on", "eviction", "abandonment", "hospital", "other"]
DESTINATIONS = ["own_tenancy", "social_housing", "private_rented", "family_friends", "unknown"]


def _year_of_events(
    client: httpx.Client,
    problem: Any,
    rng: random.Random,
    move_outs: int,
    placements: int,
    returns: int,
) -> dict[str, int]:
    """Move-outs on past dates, people referred again, then placements: what was recorded."""
    leaving = rng.sample(
        [r for r in problem.residents if r.arrived is not None],
        min(move_outs, len(problem.residents)),
    )
    departed = []
    for resident in leaving:
        stay = rng.randint(1, (problem.as_of - resident.arrived).days)
        left_on = resident.arrived + timedelta(days=stay)
        answer = client.post(
            f"/api/residents/{resident.id}/move-out",
            json={
                "on": left_on.isoformat(),
                "reason": rng.choice(REASONS),
                "destination": rng.choice(DESTINATIONS),
            },
        )
        if answer.status_code == 200:
            departed.append((resident, left_on))
    referred_again = 0
    for n, (resident, left_on) in enumerate(rng.sample(departed, min(returns, len(departed)))):
        referred = min(problem.as_of, left_on + timedelta(days=rng.randint(7, 300)))
        answer = client.post(
            "/api/referrals",
            json={
                "id": f"AGAIN{n:05d}",
                "referred": referred.isoformat(),
                "age": resident.age,
                "gender": resident.gender,
                "risk": resident.risk,
                "case_reference": resident.id,
            },
        )
        referred_again += answer.status_code == 201
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
            "/api/placements", json={"referral": referral.id, "bedspace": top["bedspace"]}
        )
        placed += answer.status_code == 201
    return {"move_outs": len(departed), "referred_again": referred_again, "placements": placed}


def run(
    seed: int = 7001,
    beds: int = 1000,
    referrals: int = 1200,
    move_outs: int = 400,
    placements: int = 300,
    returns: int = 100,
    repeats: int = 9,
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bedmatch-outcomes-"))
    database_url = f"sqlite:///{workdir / 'outcomes.db'}"
    try:
        problem = _store(database_url, seed, referrals, beds)
        rng = random.Random(seed + 1)
        with serving(database_url, SECRET) as base:
            admin = sign_in(base, *ADMIN)
            add_account(base, admin, *COORDINATOR, "coordinator")
            headers = {"Authorization": f"Bearer {sign_in(base, *COORDINATOR)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                events = _year_of_events(client, problem, rng, move_outs, placements, returns)
                span = {
                    "from": (problem.as_of - timedelta(days=364)).isoformat(),
                    "to": problem.as_of.isoformat(),
                }
                first = client.get("/api/outcomes", params=span)
                first.raise_for_status()
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    client.get("/api/outcomes", params=span).raise_for_status()
                    times.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.get("/api/outcomes.xlsx", params=span).raise_for_status()
                xlsx_s = time.perf_counter() - started
                tables = first.json()["tables"]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    head, everyone_row = tables["by group of people"][:2]
    everyone = dict(zip(head, everyone_row, strict=True))
    median_s = statistics.median(times)
    return {
        "machine": machine_info(),
        "commit": git_sha(),
        "instance": {"seed": seed, "beds": beds, "referrals": referrals},
        "history": {
            "residents": len(problem.residents),
            **events,
            "stays_ended_in_year": everyone.get("stays ended"),
            "groups": sum(len(rows) - 1 for rows in tables.values()),
        },
        "outcomes_s": {
            "median": round(median_s, 3),
            "max": round(max(times), 3),
            "runs": len(times),
        },
        "xlsx_s": round(xlsx_s, 3),
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
