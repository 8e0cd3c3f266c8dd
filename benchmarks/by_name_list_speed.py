"""The By Name List page's answer for 150 people on a 10,000 bed-space portfolio, through the
service, each person with their "no safe option" check.

`python -m benchmarks.by_name_list_speed [-o DIR] [--seed N] [--beds 10000]
[--referrals 1500] [--people 150] [--repeats 9]` stores
`fixtures.generator.generate(seed, referrals, beds)` with a name and case reference for each
referral (`bedmatch load`), starts `bedmatch serve` on a free loopback port, puts `people` of
its referrals on the list as a coordinator would (about 40 in 150 in the priority cohort, the
rest at risk; Barnsley's cohort, 002_dcd69be417dc9cc0.txt), then asks for the list
(`GET /api/by-name-list`) `repeats` times, after one answer not measured (it reads the
portfolio into the service's cache, as the first page of the day does).

Reported: the median and slowest answer against the 1 s target, and how many people the
answer flagged for the panel. Writes `by_name_list_speed.json` and `.md`.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from benchmarks.machine import git_sha, machine_info
from benchmarks.output import write_figures
from benchmarks.serving import add_account, serving, sign_in, store_problem
from fixtures.generator import generate

TARGET_S = 1.0
PRIORITY_SHARE = 40 / 150
SECRET = "by-name-list-benchmark-secret-key"
ADMIN = ("list-admin", "list-admin-password")
COORDINATOR = ("list-coordinator", "list-coordinator-password")


def _store(database_url: str, seed: int, referrals: int, beds: int) -> Any:
    """The problem, each referral named and with a case reference, stored."""
    problem = generate(seed, referrals, beds)
    named = [
        r.model_copy(update={"name": f"Person {i}", "case_reference": f"BENCH-{i:05d}"})
        for i, r in enumerate(problem.referrals)
    ]
    problem = problem.model_copy(update={"referrals": named})
    store_problem(database_url, problem, ADMIN)
    return problem


def run(
    seed: int = 2701,
    beds: int = 10_000,
    referrals: int = 1500,
    people: int = 150,
    repeats: int = 9,
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="bedmatch-list-"))
    database_url = f"sqlite:///{workdir / 'list.db'}"
    try:
        problem = _store(database_url, seed, referrals, beds)
        rng = random.Random(seed + 1)
        with serving(database_url, SECRET) as base:
            admin = sign_in(base, *ADMIN)
            add_account(base, admin, *COORDINATOR, "coordinator")
            headers = {"Authorization": f"Bearer {sign_in(base, *COORDINATOR)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                chosen = rng.sample(problem.referrals, min(people, len(problem.referrals)))
                priority = round(len(chosen) * PRIORITY_SHARE)
                for index, referral in enumerate(chosen):
                    cohort = "priority" if index < priority else "at_risk"
                    client.post(
                        "/api/by-name-list",
                        json={"case_reference": referral.case_reference, "cohort": cohort},
                    ).raise_for_status()
                first = client.get("/api/by-name-list")
                first.raise_for_status()
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    client.get("/api/by-name-list").raise_for_status()
                    times.append(time.perf_counter() - started)
                answer = first.json()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    median_s = statistics.median(times)
    return {
        "machine": machine_info(),
        "commit": git_sha(),
        "instance": {"seed": seed, "beds": beds, "referrals": referrals, "people": people},
        "listed": answer["counts"]["total"],
        "no_safe_option": answer["no_safe_option"],
        "list_s": {"median": round(median_s, 3), "max": round(max(times), 3), "runs": len(times)},
        "target_s": TARGET_S,
        "met": median_s <= TARGET_S,
    }


def markdown(result: dict[str, Any]) -> str:
    r, instance = result["list_s"], result["instance"]
    verdict = "meets" if result["met"] else "**misses**"
    return (
        "# By Name List: the list with its safety checks, through the service\n\n"
        f"{instance['beds']:,} bed-spaces, {instance['referrals']:,} referrals (seed "
        f"{instance['seed']}); {result['listed']:,} people on the list, "
        f"{result['no_safe_option']:,} of them with no safe option anywhere; commit "
        f"`{result['commit'][:12]}`.\n\n"
        "| figure | median s | slowest s | runs |\n| --- | ---: | ---: | ---: |\n"
        f"| `GET /api/by-name-list` | {r['median']} | {r['max']} | {r['runs']} |\n\n"
        f"Target: the list in at most {result['target_s']} s: {verdict} it.\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="bench-out")
    parser.add_argument("--seed", type=int, default=2701)
    parser.add_argument("--beds", type=int, default=10_000)
    parser.add_argument("--referrals", type=int, default=1500)
    parser.add_argument("--people", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args(argv)
    result = run(args.seed, args.beds, args.referrals, args.people, args.repeats)
    write_figures(result, markdown(result), args.output, "by_name_list_speed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
