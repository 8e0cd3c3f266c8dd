"""What a placement would cost the others waiting: who of equal or higher priority would
lose their only eligible option or their best unit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from constraints import registry
from constraints.coupled import (
    cluster_never_mixed_gender,
)
from constraints.coupled_rule import Arrival
from matcher.ranking.context import RankingContext
from matcher.ranking.groups import Placement
from matcher.ranking.results import AffectedReferral, CostToOthers
from matcher.ranking.teams import team_rooms

NOBODY_LOSES = CostToOthers(
    summary="Nobody of equal or higher priority loses their only or best option."
)


@dataclass(frozen=True)
class UnitEffects:
    """What a placement in a unit costs others, apart from the bed-spaces themselves, for the
    few people it could matter to: the same for every bed-space of the unit."""

    cand: np.ndarray  # referral indices that might lose their only or best option
    unit_shut: np.ndarray  # loses every bed-space of the unit
    reserve_shut: np.ndarray  # loses every women-only bed-space (the reserve is reached)
    lost_elsewhere: np.ndarray  # eligible bed-spaces lost in other units (area, team)
    best_lost: np.ndarray  # loses the best unit whichever bed-space is taken
    counts_here: np.ndarray  # eligible bed-spaces in the unit
    best_here: np.ndarray  # the unit is their best


_NOBODY = np.empty(0, dtype=np.int64)
_NO_EFFECTS = UnitEffects(
    cand=_NOBODY,
    unit_shut=_NOBODY.astype(bool),
    reserve_shut=_NOBODY.astype(bool),
    lost_elsewhere=_NOBODY,
    best_lost=_NOBODY.astype(bool),
    counts_here=_NOBODY,
    best_here=_NOBODY.astype(bool),
)


def unit_effects(ctx: RankingContext, placement: Placement) -> UnitEffects:
    t = ctx.tables
    refs, units, beds = t.referrals, t.units, t.beds
    newcomers = [m for m, _, _ in placement]
    u = int(beds.unit[placement[0][1]])
    priority = int(refs.priority[placement[0][0]])
    # Unless the placement reaches further (the reserve, a team's last case, or a DA victim's
    # or perpetrator's area), it takes from others only bed-spaces of this unit, and those
    # count only for people whose best unit it is: they alone can lose their best unit, and
    # losing only this unit's bed-spaces leaves anyone else their best unit's. (Someone whose
    # every option is here has it as their best unit.)
    takers = sum(1 for m in newcomers if not ctx.reserve_exempt[m])
    reaches_reserve = bool(units.women_only[u]) and takers > 0 and ctx.reserve_room - takers <= 0
    team_load: dict[int, int] = {}
    for _, _, team in placement:
        if team is not None:
            team_load[team] = team_load.get(team, 0) + 1
    team_room = team_rooms(ctx)
    last_cases = [team for team, load in team_load.items() if team_room[team] - load <= 0]
    if reaches_reserve or last_cases or any(ctx.da_apart.get(m) for m in newcomers):
        cand = ctx.waiting_at_or_above(priority)
    else:
        cand = ctx.best_in_unit_at_or_above(u, priority)
    for m in newcomers:
        cand = cand[cand != m]
    if cand.size == 0:  # nobody else could lose anything
        return _NO_EFFECTS

    # The whole unit shut to some: each coupled rule in force says whom the arrival shuts out.
    arrival = Arrival(t, u, newcomers, cand, ctx.keep_apart)
    unit_shut = np.zeros(cand.size, dtype=bool)
    for rule in registry.coupled_rules():
        shut = rule.shuts_unit(arrival) if rule.shuts_unit is not None else None
        if shut is not None:
            unit_shut |= shut

    def position(o: int) -> int | None:
        found = np.flatnonzero(cand == o)  # `cand` is in priority order, not sorted
        return int(found[0]) if found.size else None

    # The last women-only bed-spaces outside the reserve.
    reserve_shut = ~ctx.reserve_exempt[cand] if reaches_reserve else np.zeros(cand.size, dtype=bool)

    # Other units shut: the area (DA kept apart) and a team's last free case.
    extra: dict[int, np.ndarray] = {}  # unit -> which candidates lose it
    area = int(units.area[u])
    for m in newcomers:
        for o in ctx.da_apart.get(m, ()):
            k = position(o)
            if k is not None:
                for v in ctx.units_in_area[area].tolist():
                    if v != u:
                        extra.setdefault(v, np.zeros(cand.size, dtype=bool))[k] = True
    for team in last_cases:
        team_area = int(t.teams.area[team])
        visiting_units = [
            int(v) for v in ctx.units_in_area.get(team_area, ()) if units.visiting[v] and v != u
        ]
        if not visiting_units:
            continue
        room_after = team_room.copy()
        for other, used in team_load.items():
            room_after[other] -= used
        in_area = ctx.teams_in_area[team_area]
        serving = in_area[room_after[in_area] > 0]
        after = np.array(
            [
                serving.size > 0,
                t.teams.has_female_worker[serving].any(),
                t.teams.intensive[serving].any(),
                (t.teams.intensive[serving] & t.teams.has_female_worker[serving]).any(),
            ]
        )
        for v in visiting_units:
            flipped = t.team_available[v] & ~after
            if not flipped.any():
                continue
            column = 2 * (refs.pathway_housing_first[cand] | units.pathway_housing_first[v])
            column = column + refs.wants_female_worker[cand]
            loses = flipped[column]
            if loses.any():
                mask = extra.setdefault(v, np.zeros(cand.size, dtype=bool))
                mask |= loses

    counts_here = ctx.counts_by_unit[u][cand]
    best = ctx.best_unit[cand]
    best_here = best == u
    best_lost = (best_here & unit_shut) | (reserve_shut & units.women_only[best])
    lost_elsewhere = np.zeros(cand.size, dtype=np.int64)
    for v, mask in extra.items():
        counted = mask & ~(reserve_shut & units.women_only[v])
        lost_elsewhere += np.where(counted, ctx.counts_by_unit[v][cand], 0)
        best_lost |= mask & (best == v)

    # Keep only those a bed-space could matter to: the bed-spaces taken and the rest of their
    # clusters are at most `reach` of their options.
    reach = counts_here
    if len(placement) == 1:  # one bed-space and the rest of its cluster
        reach = np.minimum(counts_here, int(ctx.cluster_size[beds.cluster[placement[0][1]]]))
    keep = (
        unit_shut
        | reserve_shut
        | best_lost
        | (ctx.eligible_total[cand] <= lost_elsewhere + reach)
        | (best_here & (counts_here <= reach))
    )
    return UnitEffects(
        cand=cand[keep],
        unit_shut=unit_shut[keep],
        reserve_shut=reserve_shut[keep],
        lost_elsewhere=lost_elsewhere[keep],
        best_lost=best_lost[keep],
        counts_here=counts_here[keep],
        best_here=best_here[keep],
    )


def cost_to_others(
    ctx: RankingContext, placement: Placement, effects: UnitEffects | None = None
) -> CostToOthers:
    """Who of equal or higher priority, still waiting, would lose their only eligible
    bed-space or every bed-space in their best-scoring unit if this placement were made.

    Counts what the placement uses up for others: the bed-spaces themselves, a cluster's
    gender once a man or woman moves in, the unit's last high-risk place or support hours,
    the unit for people kept apart from the newcomers or posing/at risk to women, the area for
    DA victims and perpetrators kept apart, the last women-only bed-spaces outside the
    reserve, and a support team's last free case.
    """
    refs = ctx.tables.referrals
    e = effects if effects is not None else unit_effects(ctx, placement)
    cand = e.cand
    if cand.size == 0:
        return NOBODY_LOSES
    taken = [b for _, b, _ in placement]
    by_bed, cluster_of = ctx.allowed_by_bed, ctx.bed_cluster_list

    # Bed-spaces taken, and the rest of a cluster shut to the other gender.
    if len(taken) == 1:
        partial = by_bed[taken[0], cand].astype(np.int64)
    else:
        partial = by_bed[np.array(taken)[:, None], cand].sum(axis=0, dtype=np.int64)
    gender_kept = registry.in_force(cluster_never_mixed_gender)
    for cluster in {cluster_of[b] for b in taken} if gender_kept else ():
        in_cluster = [m for m, b, _ in placement if cluster_of[b] == cluster]
        man_moves_in = any(refs.is_man[m] for m in in_cluster)
        woman_moves_in = any(refs.is_woman[m] for m in in_cluster)
        if not (man_moves_in or woman_moves_in):
            continue
        rest = ctx.cluster_beds[cluster]
        for b in taken:
            rest = rest[rest != b]
        if rest.size == 0:
            continue
        if man_moves_in and woman_moves_in:
            shut = refs.is_woman[cand] | refs.is_man[cand]
        else:
            shut = refs.is_woman[cand] if man_moves_in else refs.is_man[cand]
        if shut.any():
            partial += np.where(shut, by_bed[rest[:, None], cand].sum(axis=0), 0)

    lost = np.where(e.unit_shut, e.counts_here, partial)
    lost = np.where(e.reserve_shut, ctx.eligible_women_only[cand], lost) + e.lost_elsewhere
    only = lost >= ctx.eligible_total[cand]
    best_only = (e.best_lost | (e.best_here & (partial >= e.counts_here))) & ~only
    losing_only, losing_best = cand[only], cand[best_only]
    n_only, n_best = losing_only.size, losing_best.size
    if not (n_only or n_best):
        return NOBODY_LOSES

    losers = np.concatenate((losing_only, losing_best))
    rows = sorted(
        zip(
            [False] * n_only + [True] * n_best,  # "only" first
            (-refs.priority[losers]).tolist(),
            [refs.ids[o] for o in losers.tolist()],
            ctx.eligible_total[losers].tolist(),
            strict=True,
        )
    )
    affected = tuple(
        AffectedReferral(
            referral=referral,
            priority=-negative_priority,
            eligible_bedspaces=eligible,
            loses="best" if best else "only",
        )
        for best, negative_priority, referral, eligible in rows
    )
    parts = []
    if n_only:
        parts.append(f"{n_only} would lose their only eligible option")
    if n_best:
        parts.append(f"{n_best} would lose their best unit")
    summary = "Of those waiting at equal or higher priority, " + " and ".join(parts) + "."
    return CostToOthers(affected=affected, summary=summary)


def cost_once(
    ctx: RankingContext,
    placement: Placement,
    costs: dict[tuple[int, ...], CostToOthers],
    effects: dict[tuple[int, ...], UnitEffects],
) -> CostToOthers:
    """The cost of a placement, worked out once per rank call for placements alike."""
    unit_of, case_of = ctx.bed_unit_list, ctx.bed_cost_case
    unit_key = tuple(
        x for m, b, team in placement for x in (m, unit_of[b], -1 if team is None else team)
    )
    key = unit_key + tuple(x for _, b, _ in placement for x in case_of[b])
    if key not in costs:
        if unit_key not in effects:
            effects[unit_key] = unit_effects(ctx, placement)
        costs[key] = cost_to_others(ctx, placement, effects[unit_key])
    return costs[key]
