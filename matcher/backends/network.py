"""When no rule that couples people can bind, the allocation is a min-cost flow: solved exactly.

Rules on one person and one place are already in the pairs; what makes the allocation hard is
the rules that tie newcomers together (shared capacities, who may share a cluster or a unit,
couples, the reserve). When none of them can bind on an instance, what is left is

    source ─1→ referral ─pair→ (unit, bed-space pattern) ─→ bed-space class ─size→ sink

and the sets of referrals such a network can place together form a matroid (a gammoid). All
maximum-weight independent sets of a matroid hold the same weights, so one min-cost flow whose
pair costs are ``-(band · P + points)``, with ``P`` above every possible sum of points, gives
the most placed in each band in turn (DESIGN.md's lexicographic order) and then the most soft
points: the whole objective, optimal, in one solve of a few seconds. Band weights of 1 to 5
suffice (no (referrals + 1)^band weights), so the costs stay far inside int64.

`binding_rules` is deliberately conservative: it names a rule as able to bind whenever it
cannot show otherwise, and the staged backends then solve the instance as before.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
from ortools.graph.python import min_cost_flow

from matcher.backends.base import BANDS_PROVEN_S, BackendResult
from matcher.backends.classes import GENDER_MAN, GENDER_WOMAN, Assignment3, Instance
from matcher.objective import BANDS, SOFT, band_stage


def binding_rules(inst: Instance) -> list[str]:
    """The rules coupling newcomers that could bind on this instance (empty: none can)."""
    c, p_ref, p_unit = inst.coupling, inst.pair_ref, inst.pair_unit
    n_units = len(inst.tables.units)
    found: list[str] = []
    if c.keep_apart_pairs:
        found.append("keep apart")
    if c.da_apart_pairs:
        found.append("domestic abuse kept apart by area")
    if c.keep_together_groups:
        found.append("couples placed together")
    high = np.bincount(p_unit[c.is_high_risk[p_ref]], minlength=n_units)
    if (high > c.high_risk_room[:n_units]).any():
        found.append("high-risk places")
    hours = np.bincount(p_unit, weights=inst.hours[p_ref], minlength=n_units)
    if (hours > inst.hours_room[:n_units]).any():
        found.append("support hours")
    if _cluster_gender_may_bind(inst):
        found.append("cluster gender")
    if c.risk_to_women[p_ref].any():
        found.append("risk to women")
    women_only = inst.tables.units.women_only[p_unit]
    takers = int(np.unique(p_ref[women_only & ~c.reserve_exempt[p_ref]]).size)
    # Beyond the women-only bed-spaces open to newcomers, the reserve holds nobody back.
    women_only_room = sum(
        cls.size for cls in inst.classes if inst.tables.units.women_only[cls.unit]
    )
    if min(takers, women_only_room) > max(0, c.reserve_room):
        found.append("women-only reserve")
    if _team_room_may_bind(inst):
        found.append("team caseloads")
    return found


def _cluster_gender_may_bind(inst: Instance) -> bool:
    """An open cluster with room for two or more, which both a man and a woman may enter."""
    open_cluster = np.zeros(len(inst.tables.clusters), dtype=bool)
    open_cluster[inst.coupling.open_gender_clusters] = True
    room = np.zeros(len(open_cluster), dtype=np.int64)
    for cls in inst.classes:
        room[cls.cluster] += cls.size
    shared = open_cluster & (room > 1)
    if not shared.any():
        return False
    genders: dict[int, set[int]] = defaultdict(set)
    for group in inst.groups:
        for k in group.classes:
            cluster = inst.classes[k].cluster
            if shared[cluster]:
                genders[cluster].add(group.gender)
    return any(len(g & {GENDER_MAN, GENDER_WOMAN}) == 2 for g in genders.values())


def _team_room_may_bind(inst: Instance) -> bool:
    """A team that more people could be placed with than it has room for."""
    tg = inst.pair_team_group
    counts = np.bincount(tg[tg >= 0], minlength=len(inst.team_groups))
    wanting = np.zeros(len(inst.coupling.team_room), dtype=np.int64)
    for q, teams in enumerate(inst.team_groups):
        for t in teams:
            wanting[t] += counts[q]
    return bool((wanting > inst.coupling.team_room).any())


def network_optimum(inst: Instance) -> BackendResult | None:
    """The optimal allocation by one min-cost flow, or None when a coupled rule may bind
    (or the flow cannot be solved or decoded exactly, which the staged backends then do)."""
    began = time.perf_counter()
    if binding_rules(inst):
        return None
    refs = inst.tables.referrals
    n_refs, n_groups, n_classes = len(refs), len(inst.groups), len(inst.classes)
    if inst.n_pairs == 0:
        return None
    points = inst.pair_points.astype(np.int64)
    scale = 1 + 2 * int(np.abs(points).max(initial=0)) * max(n_refs, 1)
    weight = refs.priority[inst.pair_ref].astype(np.int64) * scale + points
    if int(weight.max()) * (n_refs + n_groups + n_classes + 2) >= 1 << 62:
        return None

    group_class = [(q, k) for q, group in enumerate(inst.groups) for k in group.classes]
    tails, heads, capacities, costs = _arcs(inst, weight, group_class)
    source, sink = 0, 1 + n_refs + n_groups + n_classes
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    flow.set_node_supply(source, n_refs)
    flow.set_node_supply(sink, -n_refs)
    if flow.solve() != flow.OPTIMAL:
        return None
    flows = flow.flows(np.arange(len(tails)))
    pair_flow = flows[n_refs : n_refs + inst.n_pairs]
    class_flow = flows[n_refs + inst.n_pairs : n_refs + inst.n_pairs + len(group_class)]
    placements = _decode(inst, np.flatnonzero(pair_flow > 0), group_class, class_flow)
    if placements is None:
        return None
    placed_by_band = {b: 0 for b in BANDS}
    for r, _, _ in placements:
        placed_by_band[int(refs.priority[r])] += 1
    unit_of = inst.tables.beds.unit
    soft = sum(int(inst.points[r, int(unit_of[bed])]) for r, bed, _ in placements)
    if -flow.optimal_cost() != sum(b * scale * n for b, n in placed_by_band.items()) + soft:
        return None  # the placements are not the flow's: let the staged backends solve it
    bounds: dict[str, int] = {band_stage(b): n for b, n in placed_by_band.items()}
    bounds[SOFT] = soft
    seconds = round(time.perf_counter() - began, 3)
    return BackendResult(
        placements=placements,
        stage_bounds=bounds,
        detail={
            "method": "network flow (no rule coupling people can bind)",
            BANDS_PROVEN_S: seconds,
            "network_arcs": int(len(tails)),
        },
    )


def _arcs(
    inst: Instance, weight: np.ndarray, group_class: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The network's arcs (tails, heads, capacities, unit costs), in this order: source to
    each referral, each pair (costing its `weight`), each (pattern, class), each class to the
    sink, and source to sink for the unplaced. Nodes: the source, the referrals, the patterns
    (groups), the classes, the sink."""
    n_refs, n_groups, n_classes = len(inst.tables.referrals), len(inst.groups), len(inst.classes)
    source, ref0 = 0, 1
    group0 = ref0 + n_refs
    class0 = group0 + n_groups
    sink = class0 + n_classes
    tails = np.concatenate(
        [
            np.zeros(n_refs, dtype=np.int64),
            ref0 + inst.pair_ref,
            group0 + np.array([q for q, _ in group_class], dtype=np.int64),
            class0 + np.arange(n_classes),
            [source],
        ]
    )
    heads = np.concatenate(
        [
            ref0 + np.arange(n_refs),
            group0 + inst.pair_group,
            class0 + np.array([k for _, k in group_class], dtype=np.int64),
            np.full(n_classes, sink),
            [sink],
        ]
    )
    sizes = np.array([cls.size for cls in inst.classes], dtype=np.int64)
    capacities = np.concatenate(
        [
            np.ones(n_refs, dtype=np.int64),
            np.ones(inst.n_pairs, dtype=np.int64),
            sizes[[k for _, k in group_class]] if group_class else np.zeros(0, dtype=np.int64),
            sizes,
            [n_refs],  # the unplaced go straight to the sink, at no cost
        ]
    )
    costs = np.zeros(len(tails), dtype=np.int64)
    costs[n_refs : n_refs + inst.n_pairs] = -weight
    return tails, heads, capacities, costs


def _decode(
    inst: Instance,
    chosen_pairs: np.ndarray,
    group_class: list[tuple[int, int]],
    class_flow: np.ndarray,
) -> list[Assignment3] | None:
    """Each referral the flow sent to a pattern gets a bed-space of a class the flow filled
    from that pattern, and a team with room where the unit needs one."""
    into_class: dict[int, list[int]] = defaultdict(list)
    for (q, k), amount in zip(group_class, class_flow, strict=True):
        into_class[q].extend([k] * int(amount))
    free_beds = {k: list(cls.beds) for k, cls in enumerate(inst.classes)}
    team_room = inst.coupling.team_room.astype(np.int64).copy()
    placements: list[Assignment3] = []
    for p in chosen_pairs:
        r, q = int(inst.pair_ref[p]), int(inst.pair_group[p])
        if not into_class[q]:
            return None
        k = into_class[q].pop()
        bed = free_beds[k].pop(0)
        team: int | None = None
        tg = int(inst.pair_team_group[p])
        if tg >= 0:
            team = next((t for t in inst.team_groups[tg] if team_room[t] > 0), None)
            if team is None:
                return None
            team_room[team] -= 1
        placements.append((r, bed, team))
    return placements
