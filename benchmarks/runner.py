"""The benchmark runner behind `bedmatch bench`: every measurement of a family, one document.

For a family it measures, each in its own forked process (so peak memory is that
measurement's own): the eligibility mask beside its plain-Python baseline; every instance
with every backend (greedy, the baseline, in the same run, so ratios hold on a noisy machine);
and, where their scripts exist, rank latency, simulation speed and service load. It writes
`results.json` (one record per measurement, each naming seed, size, family, backend, git SHA
and machine) and `results.md`, a table generated from that JSON, and judges the run with
`benchmarks.verdict`.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import json
import shlex
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import mask
from benchmarks.families import Family, InstanceSpec, family
from benchmarks.machine import (
    IsolatedFailure,
    git_sha,
    machine_info,
    machine_label,
    run_isolated,
)
from benchmarks.report import render_markdown
from benchmarks.solves import BACKENDS, instance_fields, run_instance, solver_status
from benchmarks.verdict import GAP_TARGET, run_failures

# Scripts other parts of bedmatch contribute: `run(...) -> dict`, called when present.
OPTIONAL_SCRIPTS = {
    "rank_latency": "benchmarks.rank_latency",
    "simulation": "benchmarks.simulation_speed",
    "service_load": "benchmarks.service_load",
    "explain_speed": "benchmarks.explain_speed",
}
RESULTS_JSON, RESULTS_MD = "results.json", "results.md"
PUBLISHED_TABLE = Path(__file__).resolve().parent / "RESULTS.md"
PUBLISHED_JSON = PUBLISHED_TABLE.with_suffix(".json")


@dataclass(frozen=True)
class BenchOptions:
    family: str
    output_dir: Path
    repeat: int | None = None  # None: the family's default
    time_limit_s: float | None = None  # None: the family's default
    backends: tuple[str, ...] = BACKENDS
    gap_target: float = GAP_TARGET
    progress: bool = True
    publish: bool = False  # also write benchmarks/RESULTS.json and the table RESULTS.md
    scripts: bool = True  # run the contributed rank/simulation/service scripts too


@dataclass(frozen=True)
class Job:
    label: str
    measure: Callable[[], tuple[str, dict[str, Any]]]  # (section, record)


def reproduce_command(options: BenchOptions, chosen: Family, repeat: int, limit: float) -> str:
    """The command that repeats this run with every setting spelt out."""
    args = ["bedmatch", "bench", "--family", chosen.name, "--repeat", str(repeat)]
    args += ["--time-limit", f"{limit:g}", "--backends", ",".join(options.backends)]
    args += ["-o", str(options.output_dir)]
    return shlex.join(args)


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Run every measurement of the family, write results.json and results.md, return the JSON."""
    chosen = family(options.family)
    repeat = options.repeat if options.repeat is not None else chosen.repeat
    time_limit = options.time_limit_s if options.time_limit_s is not None else chosen.time_limit_s
    sha, machine = git_sha(), machine_info()
    stamp = {"git_sha": sha, "machine": machine_label(machine)}
    results: dict[str, Any] = {
        "schema": 1,
        "family": chosen.name,
        "command": reproduce_command(options, chosen, repeat, time_limit),
        "started": _now(),
        "git_sha": sha,
        "machine": machine,
        "machine_label": stamp["machine"],
        "settings": {
            "repeat": repeat,
            "time_limit_s": time_limit,
            "backends": list(options.backends),
            "gap_target": options.gap_target,
        },
        "mask": None,
        "solves": [],
        **{section: None for section in OPTIONAL_SCRIPTS},
    }
    jobs = list(_jobs(chosen, options, repeat, time_limit, stamp))
    for job in _progress(jobs, options.progress):
        section, record = job.measure()
        if section == "solves":
            results["solves"].append(record)
        else:
            results[section] = record
    results["finished"] = _now()
    results["failures"] = run_failures(results, options.gap_target)
    results["ok"] = not results["failures"]
    write_results(results, options.output_dir, publish=options.publish)
    return results


def write_results(results: dict[str, Any], output_dir: Path, *, publish: bool = False) -> None:
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / RESULTS_JSON).write_text(json.dumps(results, indent=2, default=str) + "\n")
    table = render_markdown(results)
    (output_dir / RESULTS_MD).write_text(table)
    if publish:
        PUBLISHED_JSON.write_text((output_dir / RESULTS_JSON).read_text())
        PUBLISHED_TABLE.write_text(table)


def _jobs(
    chosen: Family, options: BenchOptions, repeat: int, time_limit: float, stamp: dict[str, str]
) -> Iterator[Job]:
    if chosen.mask is not None:
        yield Job(f"mask {chosen.mask.referrals}x{chosen.mask.beds}", _mask_job(chosen, stamp))
    solver = solver_status() if chosen.instances else ("absent", None)
    for spec in chosen.instances:
        for backend in options.backends:
            yield Job(
                f"{spec.name} {backend}",
                _solve_job(spec, backend, repeat, time_limit, solver, stamp),
            )
    if not options.scripts or chosen.scripts == "none":
        return
    offered = _script_arguments(chosen, repeat, time_limit, options.output_dir)
    for section, module in OPTIONAL_SCRIPTS.items():
        yield Job(section, _optional_job(section, module, chosen, offered, stamp))


def _mask_job(chosen: Family, stamp: dict[str, str]) -> Callable[[], tuple[str, dict[str, Any]]]:
    size = chosen.mask
    assert size is not None

    def measure() -> tuple[str, dict[str, Any]]:
        record: dict[str, Any] = {"family": chosen.name, **stamp}
        try:
            record |= run_isolated(
                mask.run,
                timeout_s=1800,
                referrals=size.referrals,
                beds=size.beds,
                seed=size.seed,
                repeat=5,
                baseline_sample=size.baseline_sample,
            )
            record["outcome"] = "measured"
            record["meets_targets"] = mask.meets_targets(record)
        except IsolatedFailure as error:
            record |= {"outcome": "error", "error": str(error)}
        return "mask", record

    return measure


def _solve_job(
    spec: InstanceSpec,
    backend: str,
    repeat: int,
    time_limit: float,
    solver: tuple[str, str | None],
    stamp: dict[str, str],
) -> Callable[[], tuple[str, dict[str, Any]]]:
    def measure() -> tuple[str, dict[str, Any]]:
        record: dict[str, Any] = {
            **instance_fields(spec),
            "backend": backend,
            "time_limit_s": time_limit,
            **stamp,
        }
        state, why = solver
        if state == "absent":
            return "solves", record | {"outcome": "skipped", "reason": why}
        if state == "broken":
            return "solves", record | {"outcome": "error", "error": why}
        try:
            # Generation, every solve and every check, with room for a slow machine.
            budget = repeat * (time_limit * 2 + 60) + 120
            record |= run_isolated(
                run_instance, budget, spec=spec, backend=backend, repeat=repeat,
                time_limit_s=time_limit,
            )  # fmt: skip
            record["outcome"] = "measured"
        except IsolatedFailure as error:
            record |= {"outcome": "error", "error": str(error)}
        return "solves", record

    return measure


def _optional_job(
    section: str,
    module_name: str,
    chosen: Family,
    offered: dict[str, Any],
    stamp: dict[str, str],
) -> Callable[[], tuple[str, dict[str, Any]]]:
    def measure() -> tuple[str, dict[str, Any]]:
        record: dict[str, Any] = {"family": chosen.name, "script": module_name, **stamp}
        here = offered | {"out_dir": str(Path(offered["out_dir"]) / section)}
        return section, record | call_script(module_name, here)

    return measure


def call_script(
    module_name: str, offered: dict[str, Any], timeout_s: float = 3600
) -> dict[str, Any]:
    """Run `module_name.run` isolated with the offered arguments its signature accepts.

    The result has `outcome`: "skipped" when the script or its `run` is absent, "error" when it
    needs an argument the runner does not offer or fails, else "measured" with its fields.
    """
    script = _optional_run(module_name)
    if script is None:
        return {"outcome": "skipped", "reason": f"{module_name}.run is absent"}
    accepted = inspect.signature(script).parameters
    missing = [
        name
        for name, parameter in accepted.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD)
        and name not in offered
    ]
    if missing:
        error = f"{module_name}.run needs {', '.join(missing)}, which the runner cannot give"
        return {"outcome": "error", "error": error}
    kwargs = {name: value for name, value in offered.items() if name in accepted}
    try:
        result = run_isolated(script, timeout_s, **kwargs)
    except IsolatedFailure as error:
        return {"outcome": "error", "error": str(error), "arguments": kwargs}
    return {"arguments": kwargs, **result, "outcome": "measured"}


def _optional_run(module_name: str) -> Callable[..., dict[str, Any]] | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None
        raise
    script = getattr(module, "run", None)
    return script if callable(script) else None


def _script_arguments(
    chosen: Family, repeat: int, time_limit: float, output_dir: Path
) -> dict[str, Any]:
    """What the runner offers a contributed script; it receives the ones its `run` accepts.

    A "full" family leaves sizes to the script, whose defaults are its issue's target; a
    "quick" one passes its own largest size so the script runs in seconds.
    """
    offered: dict[str, Any] = {
        "family": chosen.name,
        "repeat": max(repeat, 1),
        "time_limit_s": time_limit,
        "quick": chosen.scripts == "quick",
        "out_dir": str(output_dir),
    }
    if chosen.scripts == "quick":
        largest = max(chosen.instances, key=lambda spec: spec.referrals * spec.beds)
        offered |= {"seed": largest.seed, "referrals": largest.referrals, "beds": largest.beds}
    return offered


def _progress(jobs: list[Job], enabled: bool) -> Iterator[Job]:
    if not enabled:
        yield from jobs
        return
    import tqdm

    # No monitor thread: measurements fork, and forking beside a live thread is unsafe.
    tqdm.tqdm.monitor_interval = 0
    with tqdm.tqdm(total=len(jobs), unit="job", dynamic_ncols=True) as bar:
        for job in jobs:
            bar.set_description(job.label)
            yield job
            bar.update(1)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
