"""A year of a service, recorded through the service, for the figures over a year (the
returns pack, outcomes) to be timed on.

`fixtures.generator.generate(seed, referrals, beds)` is stored with its residents' arrivals
spread over the year before the service's date (`bedmatch load`); `bedmatch serve` starts on
a free loopback port; a coordinator records the year as they would: move-outs on past dates,
each with a reason and a destination, some of the people who left referred again weeks or
months later (their case reference the resident's id), then placements in the bed-spaces the
move-outs freed, each the ranking's first choice. Then the year's figures are asked for
`repeats` times after one answer not measured, and the Excel download once.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from benchmarks.serving import add_account, serving, sign_in, store_problem
from fixtures.generator import generate
from matcher.model import Problem

ADMIN = ("year-admin", "year-admin-password-1")
COORDINATOR = ("year-coordinator", "year-coordinator-password")
SECRET = "year-of-service-benchmark-secret-key"
REASONS = ["planned_move_on", "planned_move_on", "eviction", "abandonment", "hospital", "other"]
DESTINATIONS = ["own_tenancy", "social_housing", "private_rented", "family_friends", "unknown"]


@dataclass(frozen=True)
class YearMeasured:
    problem: Problem
    events: dict[str, int]  # what the coordinator recorded: move_outs, referred_again, placements
    first: Any  # the first answer, as JSON
    times: list[float]  # the measured answers, seconds
    xlsx_s: float


def store_year(database_url: str, seed: int, referrals: int, beds: int) -> Problem:
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
    store_problem(database_url, problem, ADMIN)
    return problem


def record_year(
    client: httpx.Client,
    problem: Problem,
    rng: random.Random,
    move_outs: int,
    placements: int,
    returns: int = 0,
) -> dict[str, int]:
    """Move-outs on past dates, people referred again, then placements: what was recorded."""
    leaving = rng.sample(
        [r for r in problem.residents if r.arrived is not None],
        min(move_outs, len(problem.residents)),
    )
    departed = []
    for resident in leaving:
        assert resident.arrived is not None
        left_on = resident.arrived + timedelta(
            days=rng.randint(1, (problem.as_of - resident.arrived).days)
        )
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


def measure_year(
    path: str,
    seed: int,
    beds: int,
    referrals: int,
    move_outs: int,
    placements: int,
    returns: int,
    repeats: int,
) -> YearMeasured:
    """A year recorded, then `path` (e.g. `/api/returns`) for that year timed, and
    `{path}.xlsx` once."""
    workdir = Path(tempfile.mkdtemp(prefix="bedmatch-year-"))
    database_url = f"sqlite:///{workdir / 'year.db'}"
    try:
        problem = store_year(database_url, seed, referrals, beds)
        rng = random.Random(seed + 1)
        with serving(database_url, SECRET) as base:
            admin = sign_in(base, *ADMIN)
            add_account(base, admin, *COORDINATOR, "coordinator")
            headers = {"Authorization": f"Bearer {sign_in(base, *COORDINATOR)}"}
            with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
                events = record_year(client, problem, rng, move_outs, placements, returns)
                span = {
                    "from": (problem.as_of - timedelta(days=364)).isoformat(),
                    "to": problem.as_of.isoformat(),
                }
                first = client.get(path, params=span)
                first.raise_for_status()
                times = []
                for _ in range(repeats):
                    started = time.perf_counter()
                    client.get(path, params=span).raise_for_status()
                    times.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.get(f"{path}.xlsx", params=span).raise_for_status()
                xlsx_s = time.perf_counter() - started
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return YearMeasured(problem, events, first.json(), times, xlsx_s)
