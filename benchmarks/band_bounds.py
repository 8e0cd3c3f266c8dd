"""Band bounds against the counts found: a deterministic yardstick for the band stages.

`python -m benchmarks.band_bounds [--family varied_medium] [--seeds 3001,3003]
[--results benchmarks/issue29/varied_medium.json] [--bands open|all] [-o DIR]` reads the
per-band counts a solver run found (`bedmatch bench` JSON, the `cpsat` solves) and, for each
instance and band (by default the first band that run left open), holds the bands above at
the counts found and reports the band stage's bounds, no clock involved but the LPs':

- `lp`: the LP relaxation of the stage (GLOP), as the solver's band stage solves it;
- `unit bound`: that LP's prices with each unit solved whole (`block_bound`, today's
  tightening);
- `cuts`: the LP with rounds of `unit_cuts` (how many of a unit's candidates fit at once);
- `cuts + unit bound`: the unit bound at the prices of the LP with the cuts.

A bound whose floor equals `found` proves the count found. Writes `band_bounds.json` and
`band_bounds.md` (a table generated from the JSON).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.families import FAMILIES, InstanceSpec, add_family_arguments, chosen_seeds
from benchmarks.machine import git_sha, machine_info, machine_label
from benchmarks.output import write_figures
from matcher.backends import mip_prover, unit_cuts
from matcher.backends.block_bound import block_bound, unit_of_variable
from matcher.backends.classes import build_instance
from matcher.backends.linear import Row
from matcher.backends.reduced_model import build_model
from matcher.backends.stage_terms import stage_objective
from matcher.backends.submodel import SparseModel, restrict
from matcher.objective import BANDS, band_stage, stages

DEFAULT_RESULTS = "benchmarks/issue29/varied_medium.json"
LP_SECONDS = 300.0
CUT_SECONDS = 300.0
UNIT_SECONDS = 30.0


def _floor(value: float | None) -> int | None:
    return None if value is None else int(np.floor(value + 1e-6))


def band_figures(spec: InstanceSpec, found: dict[int, int], band: int) -> dict[str, Any]:
    """The bounds of `band`'s stage with the bands above held at `found`."""
    inst = build_instance(spec.build())
    layout = build_model(inst)
    priority = inst.tables.referrals.priority[inst.pair_ref]
    by_name = {s.name: s for s in stages(priority, inst.pair_points, inst.pair_group_priority())}
    held = []
    for above in BANDS:
        if above <= band or band_stage(above) not in by_name:
            continue
        coefs = by_name[band_stage(above)].coefficients
        nz = np.flatnonzero(coefs)
        held.append(Row(nz, coefs[nz], found[above], None))
    stage = by_name[band_stage(band)]
    full = SparseModel.of(layout.model, held)
    free = np.ones(full.n_vars, dtype=bool)
    free[: layout.n_pairs] = stage.active
    sub = restrict(full, free, np.zeros(full.n_vars, dtype=np.int64))
    objective = stage_objective(stage.coefficients, sub.free)
    unit = unit_of_variable(inst, layout)[sub.free]
    row: dict[str, Any] = {"instance": spec.name, "seed": spec.seed, "band": band}
    row["found"] = found[band]
    row["variables"] = sub.model.n_vars
    lp = mip_prover.relax(sub.model, objective, LP_SECONDS)
    row.update(lp=lp.value, lp_floor=lp.bound, lp_s=round(lp.seconds, 2))
    if lp.value is None or lp.values is None or lp.prices is None:
        return row

    def by_units(model: SparseModel, prices: np.ndarray, point: np.ndarray) -> dict[str, Any]:
        out = block_bound(
            model, model.lower, model.upper, objective, prices, unit, UNIT_SECONDS, point=point
        )
        if out is None:
            return {}
        return {"bound": out.bound, "floor": out.integer_bound, "s": round(out.seconds, 2)}

    row["unit_bound"] = by_units(sub.model, lp.prices, lp.values)
    rooms = unit_cuts.UnitRooms.of(inst, sub.free)
    cut = unit_cuts.tighten(
        sub.model, objective, rooms, lp.values, None, lp.value, CUT_SECONDS, enough=found[band]
    )
    row["cuts"] = {
        "bound": cut.bound,
        "floor": cut.integer_bound,
        "rounds": cut.rounds,
        "cuts": cut.cuts,
        "s": round(cut.seconds, 2),
    }
    if cut.prices is not None and cut.point is not None:
        row["cuts_unit_bound"] = by_units(cut.model, cut.prices, cut.point)
    return row


def _bands_to_measure(solve: dict[str, Any], which: str) -> list[int]:
    placed = {int(b): int(n) for b, n in solve["placed_by_priority"].items()}
    bound = {int(b): int(n) for b, n in solve["placed_bound_by_priority"].items()}
    if which == "all":
        return [b for b in BANDS if b in placed]
    return [b for b in BANDS if b in placed and bound[b] > placed[b]][:1]


def run(family: str, seeds: set[int] | None, results: str, which: str) -> dict[str, Any]:
    published = json.loads(Path(results).read_text())
    solves = {
        s["seed"]: s
        for s in published["solves"]
        if s["backend"] == "cpsat" and s["family"] == family
    }
    rows = []
    for spec in FAMILIES[family].instances:
        if (seeds and spec.seed not in seeds) or spec.seed not in solves:
            continue
        solve = solves[spec.seed]
        found = {int(b): int(n) for b, n in solve["placed_by_priority"].items()}
        for band in _bands_to_measure(solve, which):
            started = time.perf_counter()
            row = band_figures(spec, found, band)
            row["reported_bound"] = int(solve["placed_bound_by_priority"][str(band)])
            row["seconds"] = round(time.perf_counter() - started, 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
    return {
        "family": family,
        "results": results,
        "results_git_sha": published.get("git_sha"),
        "git_sha": git_sha(),
        "machine": machine_label(machine_info()),
        "rows": rows,
    }


def _cell(part: dict[str, Any] | None, found: int) -> str:
    if not part:
        return "–"
    mark = " **proven**" if part["floor"] <= found else ""
    return f"{part['bound']:.2f} → {part['floor']}{mark}"


def table(result: dict[str, Any]) -> str:
    lines = [
        f"# Band bounds: `{result['family']}`",
        "",
        "Generated from `band_bounds.json` by `benchmarks/band_bounds.py`; the counts found are "
        f"those of `{result['results']}` (commit `{result['results_git_sha']}`), the bands "
        "above each held at them.",
        "",
        "| instance | band | found | bound reported | LP → floor | unit bound | cuts (rounds, "
        "cuts, s) | cuts + unit bound |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in result["rows"]:
        found = row["found"]
        lp = "–" if row.get("lp") is None else f"{row['lp']:.2f} → {row['lp_floor']}"
        cuts = row.get("cuts")
        cut_text = "–"
        if cuts:
            cut_text = f"{_cell(cuts, found)} ({cuts['rounds']}, {cuts['cuts']}, {cuts['s']})"
        lines.append(
            f"| {row['instance']} | {row['band']} | {found} | {row['reported_bound']} | {lp} "
            f"| {_cell(row.get('unit_bound'), found)} | {cut_text} "
            f"| {_cell(row.get('cuts_unit_bound'), found)} |"
        )
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_family_arguments(parser)
    parser.add_argument("--results", default=DEFAULT_RESULTS)
    parser.add_argument("--bands", choices=("open", "all"), default="open")
    args = parser.parse_args(argv)
    seeds = chosen_seeds(args.seeds)
    result = run(args.family, seeds, args.results, args.bands)
    write_figures(result, table(result), args.output, "band_bounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
