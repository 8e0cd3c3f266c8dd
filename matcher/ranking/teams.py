"""Support teams for a placement in a visiting unit: which may serve it, which has most room."""

from __future__ import annotations

import numpy as np

from constraints import registry
from constraints.coupled import (
    support_team_fits,
    team_caseload_within_capacity,
)
from matcher.ranking.context import RankingContext


def teams_that_may_serve(ctx: RankingContext, r: int, u: int) -> np.ndarray:
    """Indices of teams that may serve referral r in unit u (capacity aside), as
    `constraints.staffing.team_may_serve` says."""
    t, refs, units = ctx.tables.teams, ctx.tables.referrals, ctx.tables.units
    if not registry.in_force(support_team_fits):
        return np.arange(len(t), dtype=np.int64)
    candidates = ctx.teams_in_area.get(int(units.area[u]), np.empty(0, dtype=np.int64))
    if candidates.size == 0:
        return candidates
    ok = np.ones(candidates.size, dtype=bool)
    if refs.pathway_housing_first[r] or units.pathway_housing_first[u]:
        ok &= t.intensive[candidates]
    if refs.wants_female_worker[r]:
        ok &= t.has_female_worker[candidates]
    return candidates[ok]


def team_rooms(ctx: RankingContext) -> np.ndarray:
    """Each team's room in its caseload; unbounded while the caseload rule is out of force."""
    room = ctx.tables.teams.room
    if registry.in_force(team_caseload_within_capacity):
        return room
    return np.full(room.shape, len(ctx.tables.referrals) + 1, dtype=room.dtype)


def choose_team(ctx: RankingContext, r: int, u: int, used: dict[int, int]) -> int | None:
    """The team with most room left that may serve r in u; None if none has room."""
    best, best_room = None, 0
    team_room = team_rooms(ctx)
    for team in teams_that_may_serve(ctx, r, u):
        room = int(team_room[team]) - used.get(int(team), 0)
        if room > best_room:
            best, best_room = int(team), room
    return best
