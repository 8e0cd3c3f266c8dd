"""A network-flow relaxation of the allocation: proven band bounds and a guide for search.

Drop the rules that couple newcomers in ways a flow cannot carry (support-hour knapsacks,
cluster gender, risk to women, keep-apart, couples, the reserve) and keep the ones it can:

    source ─1→ referral ─1→ (unit, bed-space pattern) ─→ bed-space class ─size→ sink
                  └─1→ unit's high-risk gate ─room→ ┘          └→ area's team pool ─room→ ┘

Every real allocation is a flow here, so the most referrals of bands ≥ b the network carries
bounds what any allocation places from those bands, in milliseconds. The high-risk gate and
the pooled team room loosen it (never cut a real allocation); each unit's classes drain
through one arc capped by the smallest support hours among its candidates. Its tightness and
the cuts tried beside it are in `benchmarks/NOTES.md` ("Batch solver").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from matcher.backends.classes import Assignment3, Instance
from matcher.backends.greedy import greedy_placements
from matcher.objective import BANDS, SOFT, band_stage

UNBOUNDED = 1 << 40


@dataclass(frozen=True)
class _Network:
    tails: np.ndarray
    heads: np.ndarray
    capacities: np.ndarray
    source: int
    sink: int
    source_arc_of_referral: np.ndarray  # (R,) arc index, the arc source → referral
    pair_arc: np.ndarray  # (P,) arc index of the pair's first hop
    group_class_arcs: list[tuple[int, int, int]]  # (arc, group, class)
    gate_arc: np.ndarray  # (G,) arc of each used high-risk gate
    gate_unit: np.ndarray  # (G,) its unit
    unit_arc: np.ndarray  # (U,) arc unit → drain, capped by what fits the unit's hours


class FlowRelaxation:
    """Built once per instance; each bound is one max-flow solve over its arrays."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        self.network = _build(inst)
        # Pairs by unit, then support hours: each `_hours_fit` reads a mask in this order.
        self.by_unit_hours = np.lexsort((inst.hours[inst.pair_ref], inst.pair_unit))

    def max_placements(self, active: np.ndarray) -> int:
        """An upper bound on how many of the `active` referrals any allocation places."""
        net = self.network
        capacities = self.capacities(active)
        flow = max_flow.SimpleMaxFlow()
        flow.add_arcs_with_capacity(net.tails, net.heads, capacities)
        if flow.solve(net.source, net.sink) != flow.OPTIMAL:
            return int(active.sum())
        return int(flow.optimal_flow())

    def capacities(self, active: np.ndarray) -> np.ndarray:
        """Arc capacities with only the `active` referrals supplied, and the unit and gate
        arcs cut to the most active people (smallest support hours first) each unit's hours
        could carry: no allocation puts more there."""
        net, inst = self.network, self.inst
        capacities = net.capacities.copy()
        capacities[net.source_arc_of_referral] = active.astype(np.int64)
        live = active[inst.pair_ref]
        n_units = len(inst.tables.units)
        every = _hours_fit(inst, live, n_units, self.by_unit_hours)
        capacities[net.unit_arc] = np.minimum(capacities[net.unit_arc], every)
        high_live = live & inst.coupling.is_high_risk[inst.pair_ref]
        high = _hours_fit(inst, high_live, n_units, self.by_unit_hours)
        capacities[net.gate_arc] = np.minimum(capacities[net.gate_arc], high[net.gate_unit])
        return capacities

    def band_ceilings(self) -> dict[int, int]:
        """For each band b, a bound on placements from bands ≥ b together."""
        priority = self.inst.tables.referrals.priority
        return {band: self.max_placements(priority >= band) for band in BANDS}

    def guide(self) -> dict[int, int]:
        """A lexicographically band-maximal relaxed allocation: referral → bed-space class.

        Min-cost flow with a weight per band that outweighs every lower band together; the
        greedy that follows it (see `guided_placements`) repairs what the relaxation ignores.
        """
        inst, net = self.inst, self.network
        priority = inst.tables.referrals.priority
        weight = {1: 1}
        for band in (2, 3, 4, 5):
            weight[band] = weight[band - 1] * (int((priority == band - 1).sum()) + 1)
        capacities = self.capacities(np.ones(len(priority), dtype=bool))
        costs = np.zeros(len(net.tails), dtype=np.int64)
        costs[net.source_arc_of_referral] = -np.array(
            [weight[int(p)] for p in priority], dtype=np.int64
        )
        if np.abs(costs).max(initial=0) * max(len(priority), 1) >= 1 << 62:
            return {}  # weights beyond int64: no guide, the greedy runs alone
        flow = min_cost_flow.SimpleMinCostFlow()
        # Any amount may leave the source: a free arc sink → source closes the circulation.
        tails = np.append(net.tails, net.sink)
        heads = np.append(net.heads, net.source)
        caps = np.append(capacities, UNBOUNDED)
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, np.append(costs, 0))
        if flow.solve() != flow.OPTIMAL:
            return {}
        flows = flow.flows(np.arange(len(net.tails)))
        chosen_pair = np.flatnonzero(flows[net.pair_arc] > 0)
        # Share each unit's class flows out to the referrals who reached the unit, each to a
        # class of its own pattern (high-risk flow passed the gate, so it is pooled by unit).
        left = np.zeros(len(inst.classes), dtype=np.int64)
        for arc, _, k in net.group_class_arcs:
            left[k] += int(flows[arc])
        guide: dict[int, int] = {}
        for p in chosen_pair[np.argsort(-priority[inst.pair_ref[chosen_pair]], kind="stable")]:
            for k in inst.groups[int(inst.pair_group[p])].classes:
                if left[k] > 0:
                    left[k] -= 1
                    guide[int(inst.pair_ref[p])] = k
                    break
        return guide


class _Arcs:
    """The network's arcs as they are added, in blocks."""

    def __init__(self) -> None:
        self.tails: list[np.ndarray] = []
        self.heads: list[np.ndarray] = []
        self.caps: list[np.ndarray] = []

    def __call__(self, t: np.ndarray, h: np.ndarray, c: np.ndarray) -> np.ndarray:
        """Add arcs t -> h of capacity c; returns their indices."""
        first = sum(len(x) for x in self.tails)
        self.tails.append(np.asarray(t, dtype=np.int64))
        self.heads.append(np.asarray(h, dtype=np.int64))
        self.caps.append(np.asarray(c, dtype=np.int64))
        return np.arange(first, first + len(self.tails[-1]), dtype=np.int64)


def _high_risk_gates(
    inst: Instance, arcs: _Arcs, used_gates: list[int], gate0: int, group0: int, gate_out0: int
) -> np.ndarray:
    """Each unit's high-risk gate (nodes from `gate0`, by unit), split into in and out (from
    `gate_out0`) by an arc of the unit's high-risk room, then on to the unit's patterns.
    Returns the room arcs, one per unit in `used_gates`."""
    if not used_gates:
        return np.zeros(0, dtype=np.int64)
    gate_arcs = arcs(
        gate0 + np.array(used_gates),
        gate_out0 + np.arange(len(used_gates)),
        inst.coupling.high_risk_room[used_gates],
    )
    out_of = {u: gate_out0 + i for i, u in enumerate(used_gates)}
    unit_groups: dict[int, list[int]] = {}
    for q, group in enumerate(inst.groups):
        unit_groups.setdefault(group.unit, []).append(q)
    pairs = [(out_of[u], group0 + q) for u in used_gates for q in unit_groups.get(u, [])]
    arcs(
        np.array([a for a, _ in pairs]),
        np.array([b for _, b in pairs]),
        np.full(len(pairs), UNBOUNDED),
    )
    return gate_arcs


def _build(inst: Instance) -> _Network:
    n_refs = len(inst.tables.referrals)
    n_groups, n_classes = len(inst.groups), len(inst.classes)
    units = inst.tables.units
    n_units, n_areas = len(units), len(inst.tables.area_index)
    source = 0
    ref0 = 1
    group0 = ref0 + n_refs
    class0 = group0 + n_groups
    gate0 = class0 + n_classes  # one high-risk gate per unit
    pool0 = gate0 + n_units  # one team pool per area
    sink = pool0 + n_areas

    arcs = _Arcs()
    source_arcs = arcs(
        np.full(n_refs, source), ref0 + np.arange(n_refs), np.ones(n_refs, dtype=np.int64)
    )
    high = inst.coupling.is_high_risk[inst.pair_ref]
    # Ordinary referrals go straight to their pattern; high-risk ones through the unit's gate.
    target = np.where(high, gate0 + inst.pair_unit, group0 + inst.pair_group)
    pair_arcs = arcs(ref0 + inst.pair_ref, target, np.ones(inst.n_pairs, dtype=np.int64))
    used_gates = sorted({int(u) for u in inst.pair_unit[high]})
    gate_arcs = _high_risk_gates(inst, arcs, used_gates, gate0, group0, sink + 1)
    # Each unit's classes drain through one node, so the unit's total can be capped.
    unit_node0 = sink + 1 + len(used_gates)
    group_class: list[tuple[int, int]] = [
        (q, k) for q, group in enumerate(inst.groups) for k in group.classes
    ]
    gc_arcs = arcs(
        group0 + np.array([q for q, _ in group_class], dtype=np.int64),
        class0 + np.array([k for _, k in group_class], dtype=np.int64),
        np.full(len(group_class), UNBOUNDED),
    )
    sizes = np.array([cls.size for cls in inst.classes], dtype=np.int64)
    class_unit = np.array([cls.unit for cls in inst.classes], dtype=np.int64)
    visiting = units.visiting[class_unit] if n_classes else np.zeros(0, dtype=bool)
    area = units.area[class_unit] if n_classes else np.zeros(0, dtype=np.int64)
    drain = np.where(visiting, pool0 + area, sink)
    arcs(class0 + np.arange(n_classes), unit_node0 + class_unit, sizes)
    unit_drain = np.full(n_units, sink, dtype=np.int64)
    unit_drain[class_unit] = drain
    unit_arcs = arcs(unit_node0 + np.arange(n_units), unit_drain, np.full(n_units, UNBOUNDED))
    teams = inst.tables.teams
    pool_room = np.zeros(n_areas, dtype=np.int64)
    np.add.at(pool_room, teams.area, np.maximum(teams.room, 0))
    arcs(pool0 + np.arange(n_areas), np.full(n_areas, sink), pool_room)

    return _Network(
        tails=np.concatenate(arcs.tails),
        heads=np.concatenate(arcs.heads),
        capacities=np.concatenate(arcs.caps),
        source=source,
        sink=sink,
        source_arc_of_referral=source_arcs,
        pair_arc=pair_arcs,
        group_class_arcs=[(int(a), q, k) for a, (q, k) in zip(gc_arcs, group_class, strict=True)],
        gate_arc=gate_arcs,
        gate_unit=np.array(used_gates, dtype=np.int64),
        unit_arc=unit_arcs,
    )


def _hours_fit(
    inst: Instance, pairs: np.ndarray, n_units: int, by_unit_hours: np.ndarray
) -> np.ndarray:
    """(U,) the most referrals among the `pairs` (a mask) that fit each unit's support-hour
    room together: the count of the smallest hours whose running sum stays within it.
    `by_unit_hours` orders every pair by unit, then hours."""
    chosen = by_unit_hours[pairs[by_unit_hours]]
    units = inst.pair_unit[chosen]
    hours = inst.hours[inst.pair_ref[chosen]]
    running = np.cumsum(hours)
    first = np.searchsorted(units, units)  # index of each unit's first pair
    before = np.where(first > 0, running[np.maximum(first - 1, 0)], 0)
    fits = (running - before) <= inst.hours_room[units]
    return np.bincount(units, weights=fits, minlength=n_units).astype(np.int64)


def guided_placements(inst: Instance, guide: dict[int, int]) -> list[Assignment3]:
    """Greedy in priority order that first tries the class the relaxation chose for each
    referral, then its best-scoring open place; never breaks a rule (the greedy's state)."""
    return greedy_placements(inst, prefer=guide)


class StageCeilings:
    """Proven ceilings of the band stages, as stages are held at their optimum in turn.

    With bands above b held at their optimal counts, band b can place at most the flow
    ceiling of bands ≥ b less what the bands above hold; and never more than the trivial
    bound (placeable referrals of the band, free bed-spaces).
    """

    def __init__(self, inst: Instance, trivial: dict[str, int]) -> None:
        self.trivial = trivial
        self.flow = FlowRelaxation(inst).band_ceilings()
        self.held: dict[str, int] = {}

    def of(self, stage: str) -> int:
        if stage == SOFT:
            return self.trivial[SOFT]
        band = next(b for b in BANDS if band_stage(b) == stage)
        above = sum(self.held.get(band_stage(b), 0) for b in BANDS if b > band)
        return min(self.trivial[stage], self.flow[band] - above)

    def hold(self, stage: str, value: int) -> None:
        """Record a band stage's proven optimum; later ceilings subtract it."""
        self.held[stage] = value


def trivial_stage_bounds(inst: Instance) -> dict[str, int]:
    """Bounds that need no solve: placeable referrals per band, best unit per referral."""
    refs = inst.tables.referrals
    placeable = np.zeros(len(refs), dtype=bool)
    placeable[inst.pair_ref] = True
    best = np.zeros(len(refs), dtype=np.int64)
    if inst.n_pairs:
        np.maximum.at(best, inst.pair_ref, inst.pair_points)
    free_beds = sum(cls.size for cls in inst.classes)
    out = {
        band_stage(b): int(min(free_beds, (placeable & (refs.priority == b)).sum())) for b in BANDS
    }
    out[SOFT] = int(best[placeable].sum())
    return out
