"""Cohort floors (`policy.floors`): a cohort's placement rate at least the list's, or a share.

Both kinds are linear over the pair variables, so every exact backend takes them as rows:

- at least the list's rate: ``placed_c / n_c >= placed_all / n_all``, multiplied out to
  ``n_all * placed_c - n_c * placed_all >= 0``;
- at least a share s: ``placed_c >= ceil(s * n_c)``.

A floor couples the bands (placing a woman in band 1 may let a man of band 5 in under a list
rate floor), so the band stages cannot leave the lower bands out as they do without one: with
floors, each stage is maximised over the whole model (`staged_solve`, through the same stage
loop as without).

A share floor may be out of reach. Before any backend runs, `settle` maximises the cohort's
placements under the rows of the floors before it (CP-SAT): a floor it cannot reach is
lowered to the best count found, and reported with that count and the proven bound. The
allocation that maximum came from meets every settled floor, so a start that meets them
always exists (`within_floors`); a list rate floor alone is met by placing nobody.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from constraints.cohorts import cohorts_of_referral
from constraints.floors import floor_outcome, required_placements
from matcher.backends.base import BackendResult
from matcher.backends.classes import Assignment3, Instance, lexicographic_value
from matcher.backends.greedy import PlacementState, greedy_placements, place_group, referral_order
from matcher.backends.linear import Row
from matcher.backends.piece_solvers import cpsat_maximise_model
from matcher.backends.reduced_model import build_model, decode, encode
from matcher.backends.stage_loop import new_run, run_stages, stage_result
from matcher.backends.stage_strategy import Maximiser, MaximiserStages
from matcher.backends.submodel import SparseModel
from matcher.model import LIST_RATE, CohortFloor

# The part of the solve's time limit the reach of the share floors may take.
SETTLE_SHARE = 0.2


@dataclass(frozen=True)
class FloorTarget:
    """One floor read onto the instance, as settled: what it asks and what is possible."""

    floor: CohortFloor
    members: np.ndarray  # (R,) bool, referrals in the cohort
    # Placements the floor asks for (a share floor), None for the list rate.
    required: int | None = None
    # Placements held as the floor: `required`, or the best found where that is out of reach.
    target: int | None = None
    best_bound: int | None = None  # proven most the cohort can have, when settled by a solve

    @property
    def cohort(self) -> str:
        return self.floor.cohort

    @property
    def reachable(self) -> bool | None:
        """False when proven out of reach; None when not shown either way in time."""
        if self.required is None or self.target is None or self.target >= self.required:
            return True
        if self.best_bound is not None and self.best_bound < self.required:
            return False
        return None

    def coefficients(self, inst: Instance) -> np.ndarray:
        """(P,) the floor's row over the pair variables."""
        in_cohort = self.members[inst.pair_ref].astype(np.int64)
        if self.required is None:
            n_all, n_c = len(self.members), int(self.members.sum())
            return n_all * in_cohort - n_c
        return in_cohort

    def row(self, inst: Instance) -> Row:
        coefs = self.coefficients(inst)
        nz = np.flatnonzero(coefs)
        return Row(nz, coefs[nz], 0 if self.required is None else self.target, None)

    def slack(self, placed: np.ndarray) -> int:
        """How far (R,) placed flags are above the floor: negative where it is broken."""
        in_cohort = int((placed & self.members).sum())
        if self.required is None:
            return in_cohort * len(placed) - int(placed.sum()) * int(self.members.sum())
        return in_cohort - int(self.target or 0)


@dataclass
class SettledFloors:
    targets: list[FloorTarget]
    # An allocation meeting every settled floor (from the last share floor's maximum).
    witness: list[Assignment3] = field(default_factory=list)
    seconds: float = 0.0

    def rows(self, inst: Instance) -> list[Row]:
        return [t.row(inst) for t in self.targets]

    def met(self, inst: Instance, placements: list[Assignment3]) -> bool:
        placed = _placed(inst, placements)
        return all(t.slack(placed) >= 0 for t in self.targets)


def has_floors(inst: Instance) -> bool:
    return bool(inst.problem.policy.floors)


def settled(inst: Instance, time_limit_s: float = 10.0) -> SettledFloors:
    """The instance's floors, settled once (the first caller's time limit counts)."""
    found = inst.__dict__.get("_settled_floors")
    if found is None:
        found = settle(inst, time_limit_s)
        inst.__dict__["_settled_floors"] = found
    assert isinstance(found, SettledFloors)
    return found


def settle(inst: Instance, time_limit_s: float) -> SettledFloors:
    """Read every floor onto the instance; lower a share floor out of reach to the most its
    cohort can have alongside the floors before it, found by maximising that count."""
    began = time.perf_counter()
    refs = inst.problem.referrals
    cohorts = [cohorts_of_referral(r) for r in refs]
    layout = None
    targets: list[FloorTarget] = []
    witness: list[Assignment3] = []
    floors = inst.problem.policy.floors
    for number, floor in enumerate(floors):
        members = np.array([floor.cohort in c for c in cohorts], dtype=bool)
        if floor.at_least == LIST_RATE:
            targets.append(FloorTarget(floor, members))
            continue
        assert isinstance(floor.at_least, float)
        required = required_placements(floor.at_least, int(members.sum()))
        if required == 0:
            targets.append(FloorTarget(floor, members, required, 0))
            continue
        if layout is None:
            layout = build_model(inst)
        model = SparseModel.of(layout.model, [t.row(inst) for t in targets])
        objective = np.zeros(model.n_vars, dtype=np.int64)
        objective[: layout.n_pairs] = members[inst.pair_ref]
        start = encode(inst, layout, witness)
        left = max(0.5, time_limit_s - (time.perf_counter() - began))
        values, bound, _ = cpsat_maximise_model(
            model, objective, start, left / (len(floors) - number), 0.0, stop_at=required
        )
        best = 0 if values is None else int(objective @ values)
        if values is not None:
            witness = decode(inst, layout, values)
        targets.append(
            FloorTarget(floor, members, required, min(required, best), min(bound, len(refs)))
        )
    return SettledFloors(targets, witness, round(time.perf_counter() - began, 3))


def _placed(inst: Instance, placements: list[Assignment3]) -> np.ndarray:
    placed = np.zeros(len(inst.tables.referrals), dtype=bool)
    for r, _, _ in placements:
        placed[r] = True
    return placed


def within_floors(inst: Instance, placements: list[Assignment3]) -> list[Assignment3]:
    """A valid allocation turned into one that meets every settled floor: the cohorts'
    unplaced members first, then people outside the cohort out, least urgent first; then
    filled again wherever that keeps the floors. Where this repair cannot meet a floor, it
    starts again from the settled witness, which meets them all."""
    floors = settled(inst)
    if not floors.targets:
        return placements
    repaired = _repair(inst, placements, floors)
    if repaired is None:
        repaired = floors.witness
    filled = _repair(inst, greedy_placements(inst, start=repaired), floors)
    if filled is None or _value(inst, filled) < _value(inst, repaired):
        return repaired
    return filled


def _value(inst: Instance, placements: list[Assignment3]) -> tuple[int, ...]:
    return lexicographic_value(inst, placements)


def _repair(
    inst: Instance, placements: list[Assignment3], floors: SettledFloors
) -> list[Assignment3] | None:
    state = PlacementState(inst)
    state.load(placements)
    pairs_of = inst.pairs_of_referral()
    for r, pairs in enumerate(pairs_of):
        pairs_of[r] = pairs[np.lexsort((inst.pair_unit[pairs], -inst.pair_points[pairs]))]
    group_of = {m: g for g in inst.coupling.keep_together_groups for m in g}
    order = referral_order(inst)
    refs = inst.tables.referrals
    # Members of a share floor's cohort never leave: the witness met those floors with them.
    kept = np.zeros(len(refs), dtype=bool)
    for t in floors.targets:
        if t.required is not None:
            kept |= t.members

    def placed() -> np.ndarray:
        flags = np.zeros(len(refs), dtype=bool)
        flags[list(state.placed)] = True
        return flags

    def add_members(target: FloorTarget) -> None:
        for r in order:
            if r in state.placed or not target.members[r]:
                continue
            group = group_of.get(r)
            if group is None:
                state.try_place(r, pairs_of[r])
            elif not any(m in state.placed for m in group):
                place_group(inst, state, group, pairs_of)

    for _ in range(len(refs) + 1):
        broken = [t for t in floors.targets if t.slack(placed()) < 0]
        if not broken:
            return sorted(state.placed.values())
        target = broken[0]
        add_members(target)
        if target.slack(placed()) >= 0:
            continue
        if target.required is not None:
            return None  # a share floor greedy cannot reach from here
        # Out goes the least urgent, lowest-scoring person outside the cohort (with their group).
        movable = [r for r in state.placed if not target.members[r] and not kept[r]]
        if not movable:
            return None
        bed_unit = inst.tables.beds.unit
        r = min(
            movable,
            key=lambda i: (
                refs.priority[i],
                inst.points[i, int(bed_unit[state.placed[i][1]])],
                -i,
            ),
        )
        for m in group_of.get(r, [r]):
            if m in state.placed:
                state.remove(m)
    return None


def staged_solve(
    inst: Instance,
    time_limit_s: float,
    hint: list[Assignment3] | None,
    maximise: Maximiser,
    soft_gap: float = 0.0,
) -> BackendResult:
    """The lexicographic stages with the floors' rows, each over the whole model, each
    started from the best allocation so far (which meets the floors)."""
    began = time.perf_counter()
    floors = settled(inst, SETTLE_SHARE * time_limit_s)
    layout = build_model(inst)
    full = SparseModel.of(layout.model, floors.rows(inst))
    start = within_floors(inst, hint if hint is not None else [])
    best = encode(inst, layout, start)
    if not full.feasible(best):
        best = encode(inst, layout, floors.witness)
    run = new_run(inst, layout, full, best, began, every_pair_active=True)
    strategy = MaximiserStages(maximise, complete=False)
    run_stages(run, strategy, began + time_limit_s, soft_gap)
    return stage_result(run, {"floors": True, "variables": run.full.n_vars})


def floor_report(inst: Instance, placements: list[Assignment3]) -> list[dict[str, object]]:
    """Each floor against an allocation, as a `Solution` reports it: the counts and rates,
    whether it is met, and, for a share out of reach, the best the cohort can have."""
    if not has_floors(inst):
        return []
    ids = inst.tables.referrals.ids
    placed_ids = {ids[r] for r, _, _ in placements}
    out: list[dict[str, object]] = []
    for target in settled(inst).targets:
        outcome = floor_outcome(inst.problem, target.floor, placed_ids)
        reachable = target.reachable
        entry: dict[str, object] = {
            **outcome.model_dump(),
            "rate": outcome.rate,
            "list_rate": outcome.list_rate,
            "reachable": reachable,
        }
        sentence = outcome.sentence()
        if reachable is not True:
            best, bound = target.target, target.best_bound
            entry.update(best_placed=best, best_bound=bound)
            sentence += (
                f" No allocation can meet it: at most {best} of {outcome.waiting} can be "
                "placed, and this allocation places that many."
                if reachable is False
                else f" Not reached in the time: the best found places {best} of "
                f"{outcome.waiting} (no allocation places more than {bound})."
            )
        entry["sentence"] = sentence
        out.append(entry)
    return out
