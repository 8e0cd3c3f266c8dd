"""Mixed load on the service: rank, vacancy board and placements, 50 clients, loopback.

`python -m benchmarks.load_mixed [-o DIR] [--clients 50] [--duration 60] [--referrals 1000]
[--beds 2000]` (or `run(...)`) stores `fixtures.generator.generate(seed, referrals, beds)`
in a fresh SQLite database (`bedmatch load`), starts `bedmatch serve` (uvicorn) on a free
127.0.0.1 port in a child process, warms it once, then runs closed-loop clients for
`duration` seconds (or until `max_requests` answers). The benchmark reaches the service only
through the command line and HTTP, as its users do: its admin adds the coordinator account,
and both sign in. Each client, signed in as that coordinator, repeatedly picks:

- rank (60%): `GET /api/referrals/{id}/rank?top=10&detail=summary` for a random waiting
  referral;
- vacancies (30%): `GET /api/vacancies`;
- placement (10%): rank one waiting referral with `top=1`, then `POST /api/placements` of
  its top bed-space, as a coordinator does. Another client may have taken the bed-space or
  placed the person in between (409), or moved the bed-space off first place in this
  person's ranking (422 asking for an override reason): the service refusing correctly,
  counted as `refused`, not as an error.

Every placement changes the data, so the next rank rebuilds the problem and its ranking
context: the mix measures the service under writes, not a warm cache alone.

Reported per kind and overall: answers, throughput, p50, p90, p99 and max latency, errors
(any 5xx, any other unexpected status, any failed request), and the machine's load average
before and after (the run shares its cores with whatever else is running). Then, on the same
service: the floor, the same clients asking only `GET /api/auth/me` (the token and account
checked, nothing else: no endpoint answers faster at that load on this machine), and a paced
run of the same mix in which each client pauses `--think-ms` (1 s) on average between
requests, as coordinators reading the answers do. Target: zero errors and p99 <= 100 ms
overall, judged on the closed-loop run. Writes `load_mixed.json` and `load_mixed.md` (from
the JSON).

For placements under load (issue 25): `--vacancy-share 0` leaves rank and placements only,
`--ranking-only` first runs the same clients ranking alone on the same service (the baseline
the mixed run's ranking p99 is held to: at most `RANKING_P99_FACTOR` times it), and
`--think-min-ms/--think-max-ms` pace the paced run uniformly (1-5 s, as coordinators work).
Closed-loop throughput is also given as a ratio to the floor's, and the service's own counts
of whole-database reads and ranking-context builds and carry-overs during the mixed run
(`GET /api/cache-stats`, as an admin) are reported beside the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from benchmarks.machine import git_sha, machine_info
from benchmarks.output import write_figures
from benchmarks.serving import add_account, percentile, seed_database, serving, sign_in

TARGET_P99_MS = 100.0
# Ranking p99 with placements mixed in, at most this times the ranking-only p99 (issue 25).
RANKING_P99_FACTOR = 2.0
# The paced run's p99 target (issue 25: 50 clients on 10,000 bed-spaces, 1-5 s think time).
TARGET_PACED_P99_MS = 250.0
SECRET = "mixed-load-benchmark-secret-key-0123456789"
LOAD_USER = "load-coordinator"
ADMIN_USER = "load-admin"  # adds the coordinator, reads the service's cache counts
MIX = (("rank", 0.6), ("vacancies", 0.3), ("placement", 0.1))  # the default share of each
KINDS = ("rank", "vacancies", "placement")
ME = "/api/auth/me"  # signed in, the account looked up, nothing else: the floor
FLOOR_S = 20.0
RANKING_MOVED = "give a reason to override the ranking"
MAX_DURATION_S = 300.0
MAX_REQUESTS = 200_000


class Tally:
    """Latencies and outcomes per request kind, shared by every client of one run."""

    def __init__(self) -> None:
        self.latencies_ms: dict[str, list[float]] = defaultdict(list)
        self.refused: dict[str, int] = defaultdict(int)
        self.errors: dict[str, int] = defaultdict(int)
        self.first_errors: list[str] = []

    def answered(self, kind: str, started: float) -> None:
        self.latencies_ms[kind].append(1000 * (time.perf_counter() - started))

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.first_errors) < 10:
            self.first_errors.append(f"{kind}: {what}")

    def summary(self, kinds: Sequence[str], wall_s: float) -> dict[str, Any]:
        values = sorted(v for kind in kinds for v in self.latencies_ms[kind])
        return {
            "answered": len(values),
            "refused": sum(self.refused[k] for k in kinds),
            "errors": sum(self.errors[k] for k in kinds),
            "throughput_per_s": round(len(values) / wall_s, 1) if wall_s else 0.0,
            "p50_ms": percentile(values, 0.50),
            "p90_ms": percentile(values, 0.90),
            "p99_ms": percentile(values, 0.99),
            "max_ms": round(values[-1], 2) if values else None,
        }


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


async def timed(
    http: aiohttp.ClientSession, tally: Tally, kind: str, method: str, url: str, **kwargs: Any
) -> Answer | None:
    """One request; its latency is kept if the service answered as it should."""
    started = time.perf_counter()
    try:
        async with http.request(method, url, **kwargs) as answered:
            response = Answer(answered.status, await answered.read())
    except (TimeoutError, aiohttp.ClientError) as error:
        tally.error(kind, f"{type(error).__name__}: {error}")
        return None
    if response.status_code in (200, 201):
        tally.answered(kind, started)
    elif response.status_code == 409 and kind in ("rank", "placement"):
        # The referral was placed, or the bed-space taken, by another client meanwhile.
        tally.answered(kind, started)
        tally.refused[kind] += 1
    elif response.status_code == 422 and kind == "placement" and RANKING_MOVED in response.text:
        # Placements meanwhile moved the bed-space off first place in this person's ranking:
        # the service asks for an override reason, as it should.
        tally.answered(kind, started)
        tally.refused[kind] += 1
    else:
        tally.error(kind, f"{response.status_code} {url}: {response.text[:200]}")
    return response


async def client_loop(
    number: int,
    http: aiohttp.ClientSession,
    tally: Tally,
    waiting: list[str],
    budget: dict[str, Any],
    seed: int,
    mix: Sequence[tuple[str, float]],
    think_ms: float = 0.0,
    think_range_ms: tuple[float, float] | None = None,
) -> None:
    pick = random.Random(seed * 7919 + number)
    kinds, weights = zip(*mix, strict=True)
    while budget["issued"] < budget["max"] and time.perf_counter() < budget["deadline"]:
        # Before the first request too: clients do not all start at once.
        if think_range_ms:
            await asyncio.sleep(pick.uniform(*think_range_ms) / 1000.0)
        elif think_ms:
            await asyncio.sleep(pick.expovariate(1000.0 / think_ms))
        budget["issued"] += 1
        kind = pick.choices(kinds, weights)[0]
        if kind == "floor":
            await timed(http, tally, kind, "GET", ME)
            continue
        if kind == "vacancies":
            await timed(http, tally, kind, "GET", "/api/vacancies")
            continue
        if not waiting:  # everyone placed: the board is what is left to ask for
            await timed(http, tally, "vacancies", "GET", "/api/vacancies")
            continue
        referral = pick.choice(waiting)
        top = 10 if kind == "rank" else 1
        ranked = await timed(
            http,
            tally,
            "rank",
            "GET",
            f"/api/referrals/{referral}/rank",
            params={"top": top, "detail": "summary"},
        )
        if kind == "rank" or ranked is None:
            continue
        if ranked.status_code == 409:  # placed meanwhile by another client: not waiting
            if referral in waiting:
                waiting.remove(referral)
            continue
        choices = ranked.json().get("ranked") or []
        if not choices or choices[0]["partners"]:
            continue
        placed = await timed(
            http,
            tally,
            "placement",
            "POST",
            "/api/placements",
            json={"referral": referral, "bedspace": choices[0]["bedspace"]},
        )
        if placed is not None and placed.status_code == 201 and referral in waiting:
            waiting.remove(referral)


async def mixed_load(
    base: str,
    token: str,
    waiting: list[str],
    clients: int,
    duration_s: float,
    max_requests: int,
    seed: int,
    mix: Sequence[tuple[str, float]] = MIX,
    think_ms: float = 0.0,
    think_range_ms: tuple[float, float] | None = None,
) -> dict[str, Any]:
    tally = Tally()
    budget = {"issued": 0, "max": max_requests, "deadline": time.perf_counter() + duration_s}
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    # aiohttp, not httpx: the clients share the service's two cores, and httpx spends several
    # times aiohttp's CPU per request, enough to become the bottleneck it is meant to measure.
    async with aiohttp.ClientSession(
        base_url=base,
        headers=headers,
        connector=aiohttp.TCPConnector(limit=clients),
        timeout=aiohttp.ClientTimeout(total=60.0),
    ) as http:
        await asyncio.gather(
            *(
                client_loop(n, http, tally, waiting, budget, seed, mix, think_ms, think_range_ms)
                for n in range(clients)
            )
        )
    wall = time.perf_counter() - started
    kinds = [kind for kind, _ in mix]
    return {
        "clients": clients,
        "think_ms": think_ms,
        "think_range_ms": list(think_range_ms) if think_range_ms else None,
        "wall_s": round(wall, 2),
        "overall": tally.summary(kinds, wall),
        "by_kind": {kind: tally.summary([kind], wall) for kind in KINDS if kind in kinds},
        "first_errors": tally.first_errors,
    }


def run(
    seed: int = 4242,
    referrals: int = 1000,
    beds: int = 2000,
    clients: int = 50,
    duration_s: float = 60.0,
    max_requests: int = 100_000,
    placement_share: float = 0.1,
    think_ms: float = 1000.0,
    paced_s: float = 30.0,
    vacancy_share: float | None = None,
    ranking_only: bool = False,
    think_range_ms: tuple[float, float] | None = None,
    paced_clients: int | None = None,
) -> dict[str, Any]:
    """Seed, serve, warm, load; the figures as a JSON-ready dict.

    `placement_share` sets the share of placements (0 for a read-only load); rank and
    vacancies keep their 2:1 ratio in the rest unless `vacancy_share` says otherwise. With
    `ranking_only`, the same clients first rank alone for `duration_s`. After the load: the
    floor (the same clients asking `GET /api/auth/me` only) and a paced run of the same mix
    by `paced_clients` (default `clients`), each pausing `think_ms` on average between
    requests, or uniformly within `think_range_ms`, for `paced_s` seconds."""
    duration_s = max(1.0, min(duration_s, MAX_DURATION_S))
    max_requests = max(1, min(max_requests, MAX_REQUESTS))
    clients = max(1, min(clients, 200))
    paced_clients = max(1, min(paced_clients or clients, 200))
    share = max(0.0, min(placement_share, 1.0))
    paced_s = max(1.0, min(paced_s, MAX_DURATION_S))
    think_ms = max(0.0, think_ms)
    vacancy = (1 - share) / 3 if vacancy_share is None else max(0.0, min(vacancy_share, 1 - share))
    shares = (("rank", 1 - share - vacancy), ("vacancies", vacancy), ("placement", share))
    mix = tuple((kind, weight) for kind, weight in shares if weight > 0)
    workdir = Path(tempfile.mkdtemp(prefix="bedmatch-mixed-"))
    database_url = f"sqlite:///{workdir / 'load.db'}"
    try:
        seeded = seed_database(database_url, seed, referrals, beds, (ADMIN_USER, SECRET))
        waiting = seeded.waiting
        with serving(database_url, SECRET) as base:
            admin_token = sign_in(base, ADMIN_USER, SECRET)
            add_account(base, admin_token, LOAD_USER, SECRET, "coordinator")
            token = sign_in(base, LOAD_USER, SECRET)
            headers = {"Authorization": f"Bearer {token}"}
            admin = {"Authorization": f"Bearer {admin_token}"}
            started = time.perf_counter()
            rank_url = f"{base}/api/referrals/{waiting[0]}/rank"
            httpx.get(rank_url, headers=headers, timeout=300).raise_for_status()
            httpx.get(f"{base}/api/vacancies", headers=headers, timeout=300).raise_for_status()
            warmup_s = time.perf_counter() - started
            load_before = list(os.getloadavg())
            rank_alone = None
            if ranking_only:
                rank_alone = asyncio.run(
                    mixed_load(
                        base,
                        token,
                        list(waiting),
                        clients,
                        duration_s,
                        max_requests,
                        seed,
                        (("rank", 1.0),),
                    )
                )
            remaining = list(waiting)  # the clients drop whoever they see placed
            counts_before = _cache_counts(base, admin)
            loaded = asyncio.run(
                mixed_load(base, token, remaining, clients, duration_s, max_requests, seed, mix)
            )
            counts_after = _cache_counts(base, admin)
            load_after = list(os.getloadavg())
            floor = asyncio.run(
                mixed_load(
                    base,
                    token,
                    [],
                    clients,
                    min(duration_s, FLOOR_S),
                    max_requests,
                    seed,
                    (("floor", 1.0),),
                )
            )
            paced = asyncio.run(
                mixed_load(
                    base,
                    token,
                    remaining,
                    paced_clients,
                    paced_s,
                    max_requests,
                    seed,
                    mix,
                    think_ms,
                    think_range_ms,
                )
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    overall = loaded["overall"]
    floor_rate = floor["overall"]["throughput_per_s"]
    ranking = loaded["by_kind"].get("rank", {})
    alone = rank_alone["overall"] if rank_alone else None
    ranking_limit = (
        round(RANKING_P99_FACTOR * alone["p99_ms"], 2) if alone and alone["p99_ms"] else None
    )
    return {
        "benchmark": "load_mixed",
        "mix": {kind: round(weight, 3) for kind, weight in mix},
        "database": "sqlite",
        "instance": {"seed": seed, "referrals": referrals, "bedspaces": beds},
        "seeding_s": round(seeded.generate_s + seeded.store_s, 2),
        "warmup_s": round(warmup_s, 3),
        "load": loaded,
        "ranking_only": rank_alone,
        "floor": floor,
        "paced": paced,
        "throughput_ratio_to_floor": {
            "load": _ratio(overall["throughput_per_s"], floor_rate),
            "ranking_only": _ratio(alone["throughput_per_s"], floor_rate) if alone else None,
        },
        # What the service did during the mixed run, by its own counts.
        "cache_counts_during_load": {
            key: counts_after.get(key, 0) - counts_before.get(key, 0)
            for key in sorted(counts_before.keys() | counts_after.keys())
        },
        "placements_stored": loaded["by_kind"].get("placement", {}).get("answered", 0)
        - loaded["by_kind"].get("placement", {}).get("refused", 0),
        "targets": {
            "ranking_p99_limit_ms": ranking_limit,
            "ranking_p99_within_limit": (
                ranking_limit is not None
                and ranking.get("p99_ms") is not None
                and ranking["p99_ms"] <= ranking_limit
            ),
            "no_errors": overall["errors"] == 0 and paced["overall"]["errors"] == 0,
            "paced_p99_limit_ms": TARGET_PACED_P99_MS,
            "paced_p99_within_limit": paced["overall"]["p99_ms"] is not None
            and paced["overall"]["p99_ms"] <= TARGET_PACED_P99_MS,
        },
        "p99_ratio_to_floor_p99": (
            round(overall["p99_ms"] / floor["overall"]["p99_ms"], 2)
            if overall["p99_ms"] and floor["overall"]["p99_ms"]
            else None
        ),
        "target_p99_ms": TARGET_P99_MS,
        "meets_target": overall["errors"] == 0
        and overall["p99_ms"] is not None
        and overall["p99_ms"] <= TARGET_P99_MS,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "git_sha": git_sha(),
        "machine": machine_info(),
    }


def _ratio(value: float, floor: float) -> float | None:
    return round(value / floor, 3) if floor else None


def _cache_counts(base: str, headers: dict[str, str]) -> dict[str, int]:
    answer = httpx.get(f"{base}/api/cache-stats", headers=headers, timeout=60)
    answer.raise_for_status()
    return dict(answer.json())


def markdown(result: dict[str, Any]) -> str:
    load = result["load"]
    inst = result["instance"]
    lines = [
        "# Service load: mixed rank, vacancy and placement requests",
        "",
        f"{load['clients']} closed-loop clients for {load['wall_s']} s on loopback; "
        f"{inst['referrals']:,} referrals × {inst['bedspaces']:,} bed-spaces "
        f"(seed {inst['seed']}), {result['database']}, one uvicorn worker. Mix: "
        + ", ".join(f"{k} {int(100 * v)}%" for k, v in result["mix"].items())
        + " (a placement is a rank with top=1, then the POST).",
        "",
        "| requests | answered | refused | errors | throughput/s | p50 ms | p90 ms | "
        "p99 ms | max ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    floor, paced = result["floor"], result["paced"]
    think = (
        "{:g}-{:g} ms think".format(*paced["think_range_ms"])
        if paced.get("think_range_ms")
        else f"{paced['think_ms']:g} ms think"
    )
    rows = []
    if result.get("ranking_only"):
        rows += [("ranking only (same clients, before the mix)", result["ranking_only"]["overall"])]
    rows += [("all", load["overall"])] + [
        (k, load["by_kind"][k]) for k in KINDS if k in load["by_kind"]
    ]
    rows += [("floor: `" + ME + "` only", floor["overall"])]
    rows += [(f"paced ({paced['clients']} clients, {think}): all", paced["overall"])]
    rows += [(f"paced: {k}", paced["by_kind"][k]) for k in KINDS if k in paced["by_kind"]]
    for name, row in rows:
        lines.append(
            f"| {name} | {row['answered']} | {row['refused']} | {row['errors']} | "
            f"{row['throughput_per_s']} | {row['p50_ms']} | {row['p90_ms']} | "
            f"{row['p99_ms']} | {row['max_ms']} |"
        )
    verdict = "meets" if result["meets_target"] else "misses"
    lines += [
        "",
        f"Target: zero errors and p99 ≤ {result['target_p99_ms']} ms overall, judged on the "
        f"closed-loop run: **{verdict}** it. Its p99 is {result['p99_ratio_to_floor_p99']}× "
        "the floor's: the floor is the same clients asking for an authenticated request that "
        "does nothing else, in the same run, so no endpoint here answers faster at that load. "
        f"Paced: {paced['clients']} clients for {paced['wall_s']} s, each pausing "
        f"({think}) between requests (a coordinator reading the answer), on what the "
        "closed-loop run left waiting.",
        f"Load average (1, 5, 15 min) before {result['load_average_before']}, after "
        f"{result['load_average_after']}, on {result['machine'].get('cores')} cores shared "
        f"with other work; commit `{result['git_sha'][:12]}`. Warm-up (first rank and board): "
        f"{result['warmup_s']} s.",
        "",
    ]
    if "targets" in result:
        targets, counts = result["targets"], result["cache_counts_during_load"]
        ratios = result["throughput_ratio_to_floor"]
        lines += [
            f"Ranking p99 with placements: {load['by_kind'].get('rank', {}).get('p99_ms')} ms "
            f"against a limit of {targets['ranking_p99_limit_ms']} ms "
            f"({RANKING_P99_FACTOR:g}× the ranking-only p99): "
            f"**{'meets' if targets['ranking_p99_within_limit'] else 'misses'}** it. "
            f"Paced p99 {paced['overall']['p99_ms']} ms against {targets['paced_p99_limit_ms']} "
            f"ms: **{'meets' if targets['paced_p99_within_limit'] else 'misses'}** it. Errors: "
            f"{'none' if targets['no_errors'] else 'some'}. Closed-loop throughput as a share of "
            f"the floor's: mixed {ratios['load']}, ranking only {ratios['ranking_only']}.",
            f"During the mixed run the service stored {result['placements_stored']} placements "
            "and, by its own counts: "
            + ", ".join(f"{k} {v}" for k, v in counts.items())
            + " (database_reads: the whole database read into the cached problem; "
            "builds:ranking: a ranking context built from scratch; updates:ranking: one "
            "carried over a placement).",
            "",
        ]
    if load["first_errors"]:
        lines += ["First errors:", ""] + [f"- `{e}`" for e in load["first_errors"]] + [""]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-o", "--output", default="bench-out", help="directory for JSON and MD")
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--referrals", type=int, default=1000)
    parser.add_argument("--beds", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds, at most 300")
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--placement-share", type=float, default=0.1, help="0 for reads only")
    parser.add_argument("--think-ms", type=float, default=1000.0, help="paced run's pause")
    parser.add_argument("--paced", type=float, default=30.0, help="paced run's seconds")
    parser.add_argument(
        "--vacancy-share", type=float, default=None, help="default: a third of the rest"
    )
    parser.add_argument(
        "--ranking-only", action="store_true", help="first the same clients ranking alone"
    )
    parser.add_argument("--think-min-ms", type=float, default=None, help="paced: uniform from")
    parser.add_argument("--think-max-ms", type=float, default=None, help="paced: uniform to")
    parser.add_argument("--paced-clients", type=int, default=None, help="default: --clients")
    args = parser.parse_args(argv)
    think_range = (
        (args.think_min_ms, args.think_max_ms)
        if args.think_min_ms is not None and args.think_max_ms is not None
        else None
    )
    result = run(
        seed=args.seed,
        referrals=args.referrals,
        beds=args.beds,
        clients=args.clients,
        duration_s=args.duration,
        max_requests=args.max_requests,
        placement_share=args.placement_share,
        think_ms=args.think_ms,
        paced_s=args.paced,
        vacancy_share=args.vacancy_share,
        ranking_only=args.ranking_only,
        think_range_ms=think_range,
        paced_clients=args.paced_clients,
    )
    write_figures(result, markdown(result), args.output, "load_mixed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
