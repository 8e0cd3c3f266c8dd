"""Load on the rank endpoint: 20 concurrent clients, the 10,000 bed-space instance, loopback.

`python -m benchmarks.service_load [-o DIR] [--clients 20] [--requests 4000] [--duration 60]`
(or `run(...)`) stores `fixtures.generator.generate(5001, 5000, 10000)` (the `large` family)
in a fresh SQLite database (`bedmatch load`), starts `bedmatch serve` (uvicorn) on a free
127.0.0.1 port in a child process, where its admin adds a coordinator account, and warms it
(the first request assembles the problem and builds the ranking context; that time is
reported on its own), then runs closed-loop clients. Each first gets one answer, not
measured, on the connection it keeps, so that every worker process serving a client has
built its context, and waits for the others; then it sends
`GET /api/referrals/{id}/rank?top=10&detail=summary` (the screen-sized answer: excluded
units counted per rule) for a seeded random waiting referral, waits for the answer, and sends
the next, until `requests` answers or `duration` seconds, whichever comes first (4,000: the
p99 is then the 40th slowest answer, not the 20th). Every request is signed in as a
coordinator, so each one also writes its audit event, as in production.

Reported: p50, p90, p99 and max latency, throughput, errors (any non-200 or failed request),
and the single-client p50 measured in the same run as the baseline, so the ratio shows what
concurrency costs; then the same load for a quarter of the requests with `detail=full` (every
excluded unit listed with its bed-spaces), to show what the long answer costs; then the
floor: the same clients asking `GET /api/auth/me` (the token and the account checked, nothing
else), the latency no endpoint can beat on this machine under this load; then a paced run,
each client pausing `--think-ms` (1 s) on average after each answer, as a coordinator reading
a ranking does. The target is zero errors and p99 <= 50 ms, judged on the closed-loop run.
Then, unless `--compare-workers 0`, the closed-loop load again on a service with 2 worker
processes (one per core), each keeping its own ranking cache current from the data version.
It writes `service_load.json` and `service_load.md` (generated from the JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from benchmarks.machine import git_sha, machine_info
from benchmarks.output import write_figures
from benchmarks.serving import add_account, percentile, seed_database, serving, sign_in

TARGET_P99_MS = 50.0
SECRET = "service-load-benchmark-secret-key"
LOAD_USER = "load-coordinator"
ADMIN_USER = "load-admin"  # adds the coordinator account
ME = "/api/auth/me"  # signed in, the account looked up, nothing else: the floor
MAX_REQUESTS = 20_000


async def _load(
    base: str,
    token: str,
    referral_ids: list[str],
    clients: int,
    requests: int,
    duration_s: float,
    top: int,
    seed: int,
    detail: str = "summary",
    path: str | None = None,
    think_ms: float = 0.0,
) -> dict[str, Any]:
    """Closed-loop clients; `path` instead of a random referral's ranking (the floor run);
    `think_ms`, a mean pause (exponential) after each answer, as a person reading it takes."""
    latencies: list[float] = []
    by_client: dict[int, list[float]] = {}
    errors: list[str] = []
    issued = 0
    measured_from: float | None = None  # once every client is connected
    deadline = float("inf")
    headers = {"Authorization": f"Bearer {token}"}

    everyone_connected = asyncio.Barrier(clients)

    async def client(number: int, http: aiohttp.ClientSession) -> None:
        nonlocal issued, deadline, measured_from
        pick = random.Random(seed * 1000 + number)
        # One answer first, not measured, on the connection this client keeps: the worker
        # process that accepted it has then built its ranking context (the first rank in a
        # process takes seconds), whichever way the connections fell between the workers.
        first = path or f"/api/referrals/{referral_ids[number % len(referral_ids)]}/rank"
        try:
            async with http.get(first, params=None if path else {"detail": detail}) as response:
                body = await response.read()
            if response.status != 200:
                errors.append(f"{response.status}: {body[:200]!r}")
        except (TimeoutError, aiohttp.ClientError) as error:
            errors.append(f"{type(error).__name__}: {error}")
        await everyone_connected.wait()
        if measured_from is None:
            measured_from = time.perf_counter()
            deadline = measured_from + duration_s
        while issued < requests and time.perf_counter() < deadline:
            if think_ms:  # before the first request too: clients do not all start at once
                await asyncio.sleep(pick.expovariate(1000.0 / think_ms))
            issued += 1
            referral = pick.choice(referral_ids)
            url = path or f"/api/referrals/{referral}/rank"
            params: dict[str, str] = {} if path else {"top": str(top), "detail": detail}
            started = time.perf_counter()
            try:
                async with http.get(url, params=params) as response:
                    body = await response.read()
                elapsed = time.perf_counter() - started
                if response.status == 200:
                    latencies.append(elapsed)
                    by_client.setdefault(number, []).append(1000 * elapsed)
                else:
                    errors.append(f"{response.status}: {body[:200]!r}")
            except (TimeoutError, aiohttp.ClientError) as error:
                errors.append(f"{type(error).__name__}: {error}")

    # aiohttp, not httpx: the clients share the service's two cores, and httpx spends several
    # times aiohttp's CPU per request, enough to become the bottleneck it is meant to measure.
    async with aiohttp.ClientSession(
        base_url=base,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=clients),
        timeout=aiohttp.ClientTimeout(total=60.0),
    ) as http:
        await asyncio.gather(*(client(n, http) for n in range(clients)))
    wall = time.perf_counter() - (measured_from or time.perf_counter())
    ms = sorted(1000 * x for x in latencies)
    return {
        "clients": clients,
        "path": path or "rank",
        "think_ms": think_ms,
        "detail": detail,
        "answered": len(ms),
        "errors": len(errors),
        "first_errors": errors[:5],
        "wall_s": round(wall, 3),
        "throughput_per_s": round(len(ms) / wall, 1) if wall else 0.0,
        "p50_ms": percentile(ms, 0.50),
        "p90_ms": percentile(ms, 0.90),
        "p99_ms": percentile(ms, 0.99),
        "max_ms": round(ms[-1], 2) if ms else None,
        # Each client keeps its connection, and worker processes take connections as they
        # come: a client's own median shows which worker it landed on and how loaded that is.
        "clients_own_p50_ms": _spread(by_client),
    }


def _spread(by_client: dict[int, list[float]]) -> dict[str, float] | None:
    """The lowest and highest of the clients' own median latencies."""
    medians = [percentile(sorted(values), 0.5) for values in by_client.values() if values]
    known = [m for m in medians if m is not None]
    return {"lowest": min(known), "highest": max(known)} if known else None


def _first_rank(base: str, headers: dict[str, str], referral: str) -> float:
    """The seconds of the first rank after start (it assembles the problem and builds the
    ranking context); a failure stops the benchmark here. The measured runs warm every
    worker process on their own connections (`_load`)."""
    started = time.perf_counter()
    answer = httpx.get(f"{base}/api/referrals/{referral}/rank", headers=headers, timeout=300)
    if answer.status_code != 200:
        raise RuntimeError(f"warm-up rank failed: {answer.status_code} {answer.text[:300]}")
    return time.perf_counter() - started


def run(
    seed: int = 5001,
    referrals: int = 5000,
    beds: int = 10_000,
    clients: int = 20,
    requests: int = 4000,
    duration_s: float = 60.0,
    baseline_requests: int = 100,
    top: int = 10,
    workers: int = 1,
    think_ms: float = 1000.0,
    paced_s: float = 30.0,
    compare_workers: int | None = 2,
) -> dict[str, Any]:
    """Seed, serve, warm, measure; return the figures as a JSON-ready dict.

    Besides the rank load: the floor (the same clients asking `GET /api/auth/me`, which
    checks the token and the account and nothing else: what the machine and the stack cost
    any request) and a paced run (each client pausing `think_ms` on average after each
    answer, for `paced_s` seconds); and, with `compare_workers`, the closed-loop load again
    on a service with that many worker processes (2: one per core of the reference
    machine)."""
    requests = max(1, min(requests, MAX_REQUESTS))
    paced_s = max(1.0, min(paced_s, 300.0))
    think_ms = max(0.0, think_ms)
    duration_s = max(1.0, min(duration_s, 300.0))
    workers = max(1, min(workers, 8))
    compare_workers = max(1, min(compare_workers, 8)) if compare_workers else None
    workdir = Path(tempfile.mkdtemp(prefix="bedmatch-load-"))
    database_url = f"sqlite:///{workdir / 'load.db'}"
    try:
        seeded = seed_database(database_url, seed, referrals, beds, (ADMIN_USER, SECRET))
        waiting = seeded.waiting
        with serving(database_url, SECRET, workers) as base:
            add_account(base, sign_in(base, ADMIN_USER, SECRET), LOAD_USER, SECRET, "coordinator")
            # Signed with the service's key, the token stays good when it starts again.
            token = sign_in(base, LOAD_USER, SECRET)
            headers = {"Authorization": f"Bearer {token}"}
            warmup_s = _first_rank(base, headers, waiting[0])
            baseline = asyncio.run(
                _load(base, token, waiting, 1, baseline_requests, duration_s, top, seed)
            )
            loaded = asyncio.run(
                _load(base, token, waiting, clients, requests, duration_s, top, seed)
            )
            # The full answer (every excluded unit listed with its bed-spaces) at the same
            # load, for fewer requests: what the long form costs beside the screen-sized one.
            fewer = max(1, requests // 4)
            full = asyncio.run(
                _load(base, token, waiting, clients, fewer, duration_s, top, seed, "full")
            )
            floor = asyncio.run(
                _load(base, token, waiting, clients, requests, duration_s, top, seed, path=ME)
            )
            paced = asyncio.run(
                _load(
                    base,
                    token,
                    waiting,
                    clients,
                    MAX_REQUESTS,
                    paced_s,
                    top,
                    seed,
                    think_ms=think_ms,
                )
            )
        compared: dict[str, Any] | None = None
        if compare_workers and compare_workers != workers:
            # The same closed-loop load on a service with another number of processes.
            with serving(database_url, SECRET, compare_workers) as base:
                compared = asyncio.run(
                    _load(base, token, waiting, clients, requests, duration_s, top, seed)
                )
                compared["workers"] = compare_workers
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    p99, one_p50 = loaded["p99_ms"], baseline["p50_ms"]
    return {
        "benchmark": "service_load",
        "endpoint": f"GET /api/referrals/{{id}}/rank?top={top}&detail=summary",
        "database": "sqlite",
        "workers": workers,
        "instance": {"seed": seed, "referrals": referrals, "bedspaces": beds},
        "seeding": {"generate_s": seeded.generate_s, "store_s": seeded.store_s},
        "warmup_first_rank_s": round(warmup_s, 3),
        "baseline_one_client": baseline,
        "load": loaded,
        "load_full_answers": full,
        "load_other_workers": compared,
        "floor": floor,
        "paced": paced,
        "p99_ratio_to_one_client_p50": round(p99 / one_p50, 2) if p99 and one_p50 else None,
        "p99_ratio_to_floor_p99": (
            round(p99 / floor["p99_ms"], 2) if p99 and floor["p99_ms"] else None
        ),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": _meets(loaded),
        "meets_target_other_workers": _meets(compared) if compared else None,
        "git_sha": git_sha(),
        "machine": machine_info(),
        "load_average": list(os.getloadavg()),
    }


def _meets(load: dict[str, Any]) -> bool:
    return load["errors"] == 0 and load["p99_ms"] is not None and load["p99_ms"] <= TARGET_P99_MS


def markdown(result: dict[str, Any]) -> str:
    load, one = result["load"], result["baseline_one_client"]
    inst = result["instance"]
    lines = [
        "# Service load: the rank endpoint",
        "",
        f"`{result['endpoint']}` on {inst['referrals']:,} referrals × {inst['bedspaces']:,} "
        f"bed-spaces (seed {inst['seed']}), {result['database']}, uvicorn with "
        f"{result['workers']} worker(s) on loopback.",
        "",
        "| run | clients | request | answered | errors | throughput/s | p50 ms | p90 ms "
        "| p99 ms | max ms | clients' own p50 ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    floor, paced = result["floor"], result["paced"]
    runs = [
        ("one client", one, f"rank, {one['detail']}"),
        ("load", load, f"rank, {load['detail']}"),
        ("load", result["load_full_answers"], "rank, full"),
        *(
            [(f"load, {other['workers']} workers", other, f"rank, {other['detail']}")]
            if (other := result.get("load_other_workers"))
            else []
        ),
        ("floor", floor, f"`{ME}`"),
        (f"paced, {paced['think_ms']:g} ms think", paced, f"rank, {paced['detail']}"),
    ]
    for name, row, request in runs:
        lines.append(
            f"| {name} | {row['clients']} | {request} | {row['answered']} | {row['errors']} | "
            f"{row['throughput_per_s']} | {row['p50_ms']} | {row['p90_ms']} | {row['p99_ms']} | "
            f"{row['max_ms']} | {_range(row.get('clients_own_p50_ms'))} |"
        )
    verdict = f"**{'meets' if result['meets_target'] else 'misses'}** it"
    other = result.get("load_other_workers")
    if other:
        again = "meets" if result.get("meets_target_other_workers") else "misses"
        verdict += f" with {result['workers']} worker(s) and **{again}** it with {other['workers']}"
    lines += [
        "",
        f"Target: zero errors and p99 ≤ {result['target_p99_ms']} ms at {load['clients']} "
        f"clients: the service {verdict}. p99 under load is "
        f"{result['p99_ratio_to_one_client_p50']}× the one-client p50 and "
        f"{result['p99_ratio_to_floor_p99']}× the floor's p99: the floor is an authenticated "
        "request that does nothing else, at the same clients, in the same run, so no endpoint "
        "of this service on this machine answers faster under that load.",
        "A client keeps its connection for the run and each worker process serves the "
        "connections it accepted, so with several workers the clients' own medians show how "
        "evenly the connections fell between them.",
        f"Paced: each client pauses {paced['think_ms']:g} ms on average after each answer "
        f"(a person reading it), {paced['clients']} clients for {paced['wall_s']} s.",
        f"First rank after start (assembles the problem, builds the ranking context): "
        f"{result['warmup_first_rank_s']} s. Load average {result['load_average']}, "
        f"{result['machine'].get('cores')} cores, commit `{result['git_sha'][:12]}`.",
        "",
    ]
    return "\n".join(lines)


def _range(spread: dict[str, float] | None) -> str:
    return f"{spread['lowest']}–{spread['highest']}" if spread else "–"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="bench-out", help="directory for JSON and MD")
    parser.add_argument("--seed", type=int, default=5001)
    parser.add_argument("--referrals", type=int, default=5000)
    parser.add_argument("--beds", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds, at most 300")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--compare-workers",
        type=int,
        default=2,
        help="the closed-loop load again with this many worker processes (0: not run)",
    )
    parser.add_argument("--think-ms", type=float, default=1000.0, help="paced run's pause")
    parser.add_argument("--paced", type=float, default=30.0, help="paced run's seconds")
    args = parser.parse_args(argv)
    result = run(
        seed=args.seed,
        referrals=args.referrals,
        beds=args.beds,
        clients=args.clients,
        requests=args.requests,
        duration_s=args.duration,
        workers=args.workers,
        compare_workers=args.compare_workers or None,
        think_ms=args.think_ms,
        paced_s=args.paced,
    )
    write_figures(result, markdown(result), args.output, "service_load")
    return 0


if __name__ == "__main__":
    sys.exit(main())
