"""The hard rules that tie several newcomers together, as data every solver backend reads.

Pair rules already settle each newcomer against the residents; what is left couples newcomers
with each other: shared capacities (high-risk places, support hours, team caseloads, the
women-only reserve), who may share a cluster or unit (gender, risk to women, keep-apart),
who may share an area (DA victims and perpetrators kept apart) and who moves in together.
Backends turn these into constraints; none restates a rule from scratch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constraints.location import da_opposed
from constraints.reserve import reserve_exempt
from constraints.tables import Tables
from matcher.model import Flag


@dataclass(frozen=True)
class Coupling:
    # Per unit: newcomers of high or very high risk placed there ≤ high_risk_room[u].
    high_risk_room: np.ndarray
    is_high_risk: np.ndarray
    # Per unit: newcomers' support hours placed there ≤ support_hours_room[u].
    support_hours_room: np.ndarray
    support_hours: np.ndarray
    # Per team: placements assigned to it ≤ team_room[t]; see `team_may_serve_mask`.
    team_room: np.ndarray
    # Per cluster listed here (no resident settles its gender): never both a man and a woman.
    open_gender_clusters: np.ndarray
    is_man: np.ndarray
    is_woman: np.ndarray
    # Per unit: a person flagged risk_to_women never with another woman.
    risk_to_women: np.ndarray
    # Referral index pairs (i < j) never in the same unit.
    keep_apart_pairs: list[tuple[int, int]]
    # Referral index pairs (i < j), a DA victim and perpetrator, never in the same area.
    da_apart_pairs: list[tuple[int, int]]
    # Groups that are placed in one unit together or not at all.
    keep_together_groups: list[list[int]]
    # Non-exempt newcomers in women-only bed-spaces ≤ reserve_room.
    women_only_bed: np.ndarray
    reserve_exempt: np.ndarray
    reserve_room: int


def coupling(tables: Tables) -> Coupling:
    problem = tables.problem
    refs, units, beds, clusters = tables.referrals, tables.units, tables.beds, tables.clusters
    index = refs.index

    keep_apart: set[tuple[int, int]] = set()
    da_apart: set[tuple[int, int]] = set()
    for i, referral in enumerate(problem.referrals):
        for other in referral.keep_apart:
            j = index.get(other)
            if j is None:
                continue  # a resident: settled by the pair rules
            pair = (min(i, j), max(i, j))
            keep_apart.add(pair)
            if da_opposed(referral.flags, problem.referrals[j].flags):
                da_apart.add(pair)

    # Couples: keep_together links are symmetric in meaning, so take connected components.
    parent = list(range(len(refs)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, referral in enumerate(problem.referrals):
        for other in referral.keep_together:
            parent[find(i)] = find(index[other])
    groups: dict[int, list[int]] = {}
    for i in range(len(refs)):
        groups.setdefault(find(i), []).append(i)

    mixed_unit = ~units.women_only & ~units.men_only
    settled = (clusters.women_residents > 0) | (clusters.men_residents > 0)
    open_clusters = np.flatnonzero(mixed_unit[clusters.unit] & ~settled)
    women_only_bed = units.women_only[beds.unit] & beds.free

    return Coupling(
        high_risk_room=units.high_risk_room,
        is_high_risk=refs.is_high_risk,
        support_hours_room=units.support_hours_room,
        support_hours=refs.support_hours,
        team_room=tables.teams.room,
        open_gender_clusters=open_clusters,
        is_man=refs.is_man,
        is_woman=refs.is_woman,
        risk_to_women=refs.flags[Flag.risk_to_women],
        keep_apart_pairs=sorted(keep_apart),
        da_apart_pairs=sorted(da_apart),
        keep_together_groups=[g for g in groups.values() if len(g) > 1],
        women_only_bed=women_only_bed,
        reserve_exempt=np.array([reserve_exempt(r) for r in problem.referrals], dtype=bool),
        reserve_room=int(women_only_bed.sum()) - problem.policy.women_only_reserve,
    )


def team_may_serve_mask(tables: Tables, unit: int) -> np.ndarray:
    """(R, T): which teams may serve each referral placed in this unit (capacity aside)."""
    refs, units, teams = tables.referrals, tables.units, tables.teams
    in_area = teams.area == units.area[unit]
    needs_intensive = refs.pathway_housing_first | units.pathway_housing_first[unit]
    return (
        in_area[None, :]
        & (teams.intensive[None, :] | ~needs_intensive[:, None])
        & (teams.has_female_worker[None, :] | ~refs.wants_female_worker[:, None])
    )
