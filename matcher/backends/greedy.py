"""The greedy baseline: the way allocations are made by hand, and the fallback of every backend.

Referrals in priority order (then longest wait first) each take the best-scoring bed-space
still open to them. `PlacementState` tracks everything the coupled rules of
`constraints.coupling` count — bed-spaces left per class, high-risk and support-hour room per
unit, team caseloads, the gender of open clusters, women and risk-to-women people per unit,
who is in which unit and area, the women-only reserve — so greedy never breaks a rule and
couples move in together or not at all. The same state names what blocks a referral, which
`matcher.unplaced` turns into reasons.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np

from constraints import coupled as rules
from matcher.backends.base import BackendResult
from matcher.backends.classes import GENDER_MAN, GENDER_WOMAN, Assignment3, Instance

# Why a free place could not take a referral, beyond the pair rules: every bed-space of its
# class is taken, or the named coupled rule stops it.
FULL = "full"
HIGH_RISK_ROOM = rules.high_risk_within_unit_limit.name
SUPPORT_HOURS = rules.support_hours_within_capacity.name
CLUSTER_GENDER = rules.cluster_never_mixed_gender.name
RISK_TO_WOMEN = rules.risk_to_women_never_with_women.name
KEEP_APART = rules.keep_apart_never_in_same_unit.name
DA_APART = rules.da_victim_and_perpetrator_never_in_same_area.name
RESERVE = rules.women_only_reserve_held.name
TEAM_CASELOAD = rules.team_caseload_within_capacity.name


class PlacementState:
    """The coupled state of a partial allocation, with incremental checks."""

    def __init__(self, inst: Instance) -> None:
        self.inst = inst
        c = inst.coupling
        self.class_left = np.array([cls.size for cls in inst.classes], dtype=np.int64)
        self.unit_left = np.zeros(len(inst.tables.units), dtype=np.int64)
        np.add.at(self.unit_left, [cls.unit for cls in inst.classes], self.class_left)
        self.high_left = c.high_risk_room.astype(np.int64).copy()
        self.hours_left = inst.hours_room.copy()
        self.team_left = c.team_room.astype(np.int64).copy()
        self.open_cluster = np.zeros(len(inst.tables.clusters), dtype=bool)
        self.open_cluster[c.open_gender_clusters] = True
        self.cluster_men = np.zeros(len(inst.tables.clusters), dtype=np.int64)
        self.cluster_women = np.zeros(len(inst.tables.clusters), dtype=np.int64)
        self.unit_women: dict[int, set[int]] = defaultdict(set)
        self.unit_flagged: dict[int, set[int]] = defaultdict(set)
        self.unit_people: dict[int, set[int]] = defaultdict(set)
        self.area_people: dict[int, set[int]] = defaultdict(set)
        self.reserve_left = max(0, c.reserve_room)
        self.apart: dict[int, set[int]] = defaultdict(set)
        for i, j in c.keep_apart_pairs:
            self.apart[i].add(j)
            self.apart[j].add(i)
        self.da_apart: dict[int, set[int]] = defaultdict(set)
        for i, j in c.da_apart_pairs:
            self.da_apart[i].add(j)
            self.da_apart[j].add(i)
        self.placed: dict[int, Assignment3] = {}
        self.class_of_bed = {b: k for k, cls in enumerate(inst.classes) for b in cls.beds}
        self.beds_left = {k: list(cls.beds) for k, cls in enumerate(inst.classes)}

    def blockers(self, r: int, pair: int, k: int) -> list[str]:
        """Every coupled rule that stops referral r taking a place in class k now."""
        inst, c = self.inst, self.inst.coupling
        u = int(inst.pair_unit[pair])
        out = []
        if self.class_left[k] <= 0:
            out.append(FULL)
        if c.is_high_risk[r] and self.high_left[u] <= 0:
            out.append(HIGH_RISK_ROOM)
        if inst.hours[r] > self.hours_left[u]:
            out.append(SUPPORT_HOURS)
        cluster = inst.classes[k].cluster
        if self.open_cluster[cluster] and (
            (inst.gender[r] == GENDER_MAN and self.cluster_women[cluster] > 0)
            or (inst.gender[r] == GENDER_WOMAN and self.cluster_men[cluster] > 0)
        ):
            out.append(CLUSTER_GENDER)
        if (c.risk_to_women[r] and self.unit_women[u] - {r}) or (
            inst.gender[r] == GENDER_WOMAN and self.unit_flagged[u] - {r}
        ):
            out.append(RISK_TO_WOMEN)
        if self.apart[r] & self.unit_people[u]:
            out.append(KEEP_APART)
        if self.da_apart[r] & self.area_people[int(inst.tables.units.area[u])]:
            out.append(DA_APART)
        if inst.tables.units.women_only[u] and not c.reserve_exempt[r] and self.reserve_left <= 0:
            out.append(RESERVE)
        if self.team_for(pair) is None and inst.pair_team_group[pair] >= 0:
            out.append(TEAM_CASELOAD)
        return out

    def team_for(self, pair: int) -> int | None:
        """The allowed team with the most room left, for a placement in a visiting unit."""
        q = int(self.inst.pair_team_group[pair])
        if q < 0:
            return None
        teams = self.inst.team_groups[q]
        best = max(teams, key=lambda t: (self.team_left[t], -t), default=None)
        return best if best is not None and self.team_left[best] > 0 else None

    def place(self, r: int, pair: int, k: int) -> Assignment3:
        inst = self.inst
        u = int(inst.pair_unit[pair])
        team = self.team_for(pair)
        bed = self.beds_left[k].pop()
        self._apply(r, u, k, team, +1)
        self.placed[r] = (r, bed, team)
        return self.placed[r]

    def remove(self, r: int) -> None:
        _, bed, team = self.placed.pop(r)
        k = self.class_of_bed[bed]
        self.beds_left[k].append(bed)
        self._apply(r, self.inst.classes[k].unit, k, team, -1)

    def load(self, placements: list[Assignment3]) -> None:
        """Apply a finished allocation (from any backend) to the state."""
        for r, bed, team in placements:
            k = self.class_of_bed[bed]
            self.beds_left[k].remove(bed)
            self._apply(r, self.inst.classes[k].unit, k, team, +1)
            self.placed[r] = (r, bed, team)

    def _apply(self, r: int, u: int, k: int, team: int | None, sign: int) -> None:
        inst, c = self.inst, self.inst.coupling
        self.class_left[k] -= sign
        self.unit_left[u] -= sign
        self.high_left[u] -= sign * int(c.is_high_risk[r])
        self.hours_left[u] -= sign * int(inst.hours[r])
        if team is not None:
            self.team_left[team] -= sign
        cluster = inst.classes[k].cluster
        self.cluster_men[cluster] += sign * int(inst.gender[r] == GENDER_MAN)
        self.cluster_women[cluster] += sign * int(inst.gender[r] == GENDER_WOMAN)
        area = int(inst.tables.units.area[u])
        for members, present in (
            (self.unit_women[u], inst.gender[r] == GENDER_WOMAN),
            (self.unit_flagged[u], bool(c.risk_to_women[r])),
            (self.unit_people[u], True),
            (self.area_people[area], True),
        ):
            if present:
                if sign > 0:
                    members.add(r)
                else:
                    members.discard(r)
        if inst.tables.units.women_only[u] and not c.reserve_exempt[r]:
            self.reserve_left -= sign

    def try_class(self, r: int, pairs: np.ndarray, k: int) -> Assignment3 | None:
        """Place r in bed-space class k if one of its pairs leads there and nothing blocks."""
        unit = self.inst.classes[k].unit
        for pair in pairs[self.inst.pair_unit[pairs] == unit]:
            group_classes = self.inst.groups[int(self.inst.pair_group[pair])].classes
            if k in group_classes and not self.blockers(r, int(pair), k):
                return self.place(r, int(pair), k)
        return None

    def may_fit(self, r: int, pairs: np.ndarray) -> np.ndarray:
        """(len(pairs),) False where a unit-wide count already blocks r: no bed-space left,
        no high-risk or support-hour room, or the women-only reserve spent. A cheap first
        sieve: most pairs of a referral greedy cannot place fail here, and `blockers`
        (the whole check) is then asked only about the rest."""
        inst, c = self.inst, self.inst.coupling
        units = inst.pair_unit[pairs]
        fits = (self.unit_left[units] > 0) & (inst.hours[r] <= self.hours_left[units])
        if c.is_high_risk[r]:
            fits &= self.high_left[units] > 0
        if not c.reserve_exempt[r] and self.reserve_left <= 0:
            fits &= ~inst.tables.units.women_only[units]
        return fits

    def try_place(self, r: int, pairs: np.ndarray) -> Assignment3 | None:
        """Place r in the best-scoring open place among these pairs, if any."""
        for pair in pairs[self.may_fit(r, pairs)]:
            for k in self.inst.groups[int(self.inst.pair_group[pair])].classes:
                if not self.blockers(r, int(pair), k):
                    return self.place(r, int(pair), k)
        return None


def referral_order(inst: Instance, first: set[int] | None = None) -> list[int]:
    """Priority first, then (within a band) the referrals in `first`, then longest wait."""
    refs = inst.tables.referrals
    first = first or set()
    return sorted(
        range(len(refs)),
        key=lambda i: (-refs.priority[i], i not in first, -refs.waiting_days[i], i),
    )


def greedy_placements(
    inst: Instance,
    start: list[Assignment3] | None = None,
    prefer: dict[int, int] | None = None,
) -> list[Assignment3]:
    """Greedy from scratch, or adding to `start` (a valid partial allocation) without moving
    anyone already placed, so the result is never lexicographically worse than `start`.

    `prefer` maps a referral to the bed-space class to try first (a relaxation's choice);
    within a band those referrals go first, so the relaxation's count is what greedy chases.
    """
    prefer = prefer or {}
    state = PlacementState(inst)
    if start:
        state.load(start)
    pairs_of = inst.pairs_of_referral()
    # Within a referral, best points first; ties to the unit listed first.
    for r, pairs in enumerate(pairs_of):
        pairs_of[r] = pairs[np.lexsort((inst.pair_unit[pairs], -inst.pair_points[pairs]))]
    group_of = {m: g for g in inst.coupling.keep_together_groups for m in g}
    done: set[int] = set(state.placed)
    for r in referral_order(inst, set(prefer)):
        if r in done:
            continue
        group = group_of.get(r)
        if group is None:
            done.add(r)
            if r in prefer and state.try_class(r, pairs_of[r], prefer[r]):
                continue
            state.try_place(r, pairs_of[r])
            continue
        done.update(group)
        if any(m in state.placed for m in group):
            continue
        place_group(inst, state, group, pairs_of)
    return sorted(state.placed.values())


def place_group(
    inst: Instance, state: PlacementState, group: list[int], pairs_of: list[np.ndarray]
) -> None:
    """A couple or household moves into one unit together, or nobody in it moves."""
    units_of = [{int(inst.pair_unit[p]): p for p in pairs_of[m]} for m in group]
    common = set(units_of[0]).intersection(*units_of[1:])
    ranked = sorted(common, key=lambda u: (-sum(int(inst.pair_points[d[u]]) for d in units_of), u))
    for u in ranked:
        placed = []
        for m, pairs in zip(group, units_of, strict=True):
            if state.try_place(m, np.array([pairs[u]])) is None:
                break
            placed.append(m)
        if len(placed) == len(group):
            return
        for m in placed:
            state.remove(m)


class GreedyBackend:
    """Priority, then waiting time, then the best-scoring place that breaks no rule."""

    name = "greedy"

    def available(self) -> bool:
        return True

    def solve(
        self,
        instance: Instance,
        time_limit_s: float,
        hint: list[Assignment3] | None = None,
    ) -> BackendResult:
        start = time.perf_counter()
        placements = greedy_placements(instance)
        return BackendResult(placements, detail={"greedy_seconds": time.perf_counter() - start})
