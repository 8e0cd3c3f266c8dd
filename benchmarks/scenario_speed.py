"""How fast a scenario runs through the service, beside the same replications in one process.

    python -m benchmarks.scenario_speed [--beds 1000] [--days 365] [--replications 20]
        [--referrals 1000] [--seed 1] [-o bench/scenario_speed]

Issue 28's figure: a scenario of one year on 1,000 bed-spaces, 20 replications, daily greedy
allocation, at most `TARGET_S` (60 s) through the service on this 2-core machine. The
benchmark reaches the service as a commissioner does: `fixtures.generator.generate(seed,
referrals, beds)` stored in a fresh SQLite database (`bedmatch load`), `bedmatch serve` on a
free loopback port, a commissioner account added by its admin, then `POST /api/scenarios`
(the live portfolio, no changes; `horizon_days`, `replications`, `seed` in the plan), `POST
/api/scenarios/{id}/run`, and `GET /api/scenarios/{id}` polled until it is done. Reported:

- `service_seconds`: from the run request to the first poll that reads it done (what a
  commissioner waits), and `service_run_seconds`, the replications as the service timed
  them itself (the rest is the queue, the snapshot read and storing the figures);
- `single_process_seconds`: the very same replications (the scenario's stored snapshot and
  plan, read from the database) run one after another in one process (`bedmatch simulate
  --stored ID --workers 1`), and `engine_seconds` on worker processes (all cores), both
  without the service;
- whether the service's figures equal the in-process ones (same seed, same figures).

Writes `scenario_speed.json` and `scenario_speed.md` (drawn from the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.serving import add_account, bedmatch_command, seed_database, serving, sign_in

TARGET_S = 60.0
ADMIN = ("bench-admin", "bench-admin-password-1")
COMMISSIONER = ("bench-commissioner", "bench-commissioner-password-1")
POLL_S = 0.2


def _through_service(
    base: str, token: str, days: int, replications: int, seed: int, timeout_s: float
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    plan = {"horizon_days": days, "replications": replications, "seed": seed}
    created = httpx.post(
        f"{base}/api/scenarios",
        json={"name": "speed", "plan": plan},
        headers=headers,
        timeout=120,
    )
    if created.status_code != 201:
        raise RuntimeError(f"creating the scenario: {created.status_code} {created.text}")
    scenario_id = created.json()["id"]
    started = time.perf_counter()
    run = httpx.post(f"{base}/api/scenarios/{scenario_id}/run", headers=headers, timeout=60)
    if run.status_code != 202:
        raise RuntimeError(f"running the scenario: {run.status_code} {run.text}")
    deadline = started + timeout_s
    while True:
        row = httpx.get(f"{base}/api/scenarios/{scenario_id}", headers=headers, timeout=60).json()
        if row["status"] not in ("queued", "running"):
            break
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the scenario was not done after {timeout_s:.0f} s")
        time.sleep(POLL_S)
    seconds = time.perf_counter() - started
    if row["status"] != "done":
        raise RuntimeError(f"the scenario ended {row['status']}: {row['message']}")
    return {
        "scenario_id": scenario_id,
        "service_seconds": round(seconds, 3),
        "service_run_seconds": row.get("run_seconds"),
        "figures": row.get("figures"),
    }


def _in_process(database_url: str, scenario_id: int, workers: int) -> tuple[float, Any]:
    """The stored scenario's replications without the service, on `workers` processes:
    `bedmatch simulate --stored`, which times the replications themselves (not the start of
    the command)."""
    done = subprocess.run(
        [
            *bedmatch_command(),
            "simulate",
            "--stored",
            str(scenario_id),
            "--database-url",
            database_url,
            "--workers",
            str(workers),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bedmatch simulate --stored failed ({done.returncode}): {done.stderr}")
    answer = json.loads(done.stdout)
    return float(answer["replication_seconds"]), answer["figures"]


def _git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown(record: dict[str, Any]) -> str:
    r = record
    service_only = r["service_seconds"] - (r["service_run_seconds"] or 0)
    return "\n".join(
        [
            "# Scenario speed",
            "",
            f"git {r['git_sha'][:12]}, {r['machine']}, {r['cores']} cores.",
            "",
            f"A scenario of {r['days']} days on {r['bedspaces']} bed-spaces, "
            f"{r['replications']} replications, daily greedy allocation.",
            "",
            "| path | seconds | target (s) | meets |",
            "| --- | ---: | ---: | --- |",
            f"| through the service (request to done) | {r['service_seconds']:.1f} | "
            f"{r['target_seconds']:.0f} | {'yes' if r['meets_target'] else 'no'} |",
            f"| the service's replications alone | {r['service_run_seconds'] or 0:.1f} | | |",
            f"| the same replications in one process | {r['single_process_seconds']:.1f} | | |",
            f"| the same replications on {r['cores']} worker processes, no service | "
            f"{r['engine_seconds']:.1f} | | |",
            "",
            f"The service adds {service_only:.1f} s around its replications (queue, snapshot, "
            f"storing the figures, polling every {POLL_S} s); its replications take "
            f"{r['service_vs_engine']:.2f}× the engine's on the same workers. "
            f"Same figures as in process: {'yes' if r['same_figures'] else 'no'}.",
            "",
        ]
    )


def run(
    beds: int = 1000,
    days: int = 365,
    replications: int = 20,
    referrals: int = 1000,
    seed: int = 1,
    out_dir: str | Path = "bench/scenario_speed",
    timeout_s: float = 1800.0,
) -> dict[str, Any]:
    """Measure, write `scenario_speed.json` and `.md` into `out_dir`, return the record."""
    workdir = Path(tempfile.mkdtemp(prefix="bedmatch-scenario-speed-"))
    database_url = f"sqlite:///{workdir / 'bench.db'}"
    try:
        seed_database(database_url, seed, referrals, beds, ADMIN)
        with serving(database_url, secret="scenario-speed-" + os.urandom(16).hex()) as base:
            admin_token = sign_in(base, *ADMIN)
            add_account(base, admin_token, *COMMISSIONER, "commissioner")
            token = sign_in(base, *COMMISSIONER)
            service = _through_service(base, token, days, replications, seed, timeout_s)
        single_s, summary = _in_process(database_url, service["scenario_id"], workers=1)
        cores = os.cpu_count() or 1
        engine_s, _ = _in_process(database_url, service["scenario_id"], workers=cores)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    same = service["figures"] == summary
    record = {
        "benchmark": "scenario_speed",
        "git_sha": _git_sha(),
        "machine": platform.platform(),
        "cores": os.cpu_count(),
        "bedspaces": beds,
        "days": days,
        "replications": replications,
        "referrals": referrals,
        "seed": seed,
        "service_seconds": service["service_seconds"],
        "service_run_seconds": service["service_run_seconds"],
        "single_process_seconds": round(single_s, 3),
        "engine_seconds": round(engine_s, 3),
        "service_vs_engine": (service["service_run_seconds"] or 0) / max(engine_s, 1e-9),
        "same_figures": same,
        "target_seconds": TARGET_S,
        "meets_target": service["service_seconds"] <= TARGET_S,
    }
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario_speed.json").write_text(json.dumps(record, indent=2) + "\n")
    (out / "scenario_speed.md").write_text(markdown(record))
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--beds", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--referrals", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--output", default="bench/scenario_speed")
    args = parser.parse_args()
    record = run(
        beds=args.beds,
        days=args.days,
        replications=args.replications,
        referrals=args.referrals,
        seed=args.seed,
        out_dir=args.output,
    )
    print(markdown(record))


if __name__ == "__main__":
    main()
