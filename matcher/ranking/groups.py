"""People who move in together (`keep_together`): one unit for the whole group, or none.

For a referral with partners a bed-space is listed only where the whole group fits in that
unit at once: every partner is eligible there, on a bed-space of their own, with the coupled
rules in force (`constraints.coupled`: high-risk places, support hours, team caseloads, the
women-only reserve, cluster gender) holding for the group together. Units the referral could
take alone but the group cannot are excluded with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from constraints import registry
from constraints.coupled import (
    cluster_never_mixed_gender,
)
from constraints.coupled import keep_together_same_unit_or_neither as keep_together
from constraints.coupled_rule import Group
from constraints.registry import coupled_rules
from matcher.ranking.context import RankingContext
from matcher.ranking.exclusions import bed_rule_counts, exclusion_cases
from matcher.ranking.teams import team_rooms, teams_that_may_serve

KEEP_TOGETHER_RULE = keep_together.name


Placement = list[tuple[int, int, int | None]]  # (referral, bed-space, team) per group member


def group_problems_in(
    ctx: RankingContext, group: list[int], units: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """Why the whole group cannot live together in each of these units, beyond each member's
    own rules: (rule, reason) pairs for the units that fail, none where only the bed-space
    search can tell. Each coupled rule in force answers for all the units at once."""
    at = np.asarray(units, dtype=np.int64)
    view = Group(
        tables=ctx.tables,
        members=group,
        units=at,
        reserve_room=ctx.reserve_room,
        reserve_exempt=ctx.reserve_exempt,
        keep_apart=ctx.keep_apart,
    )
    found = [
        problem
        for rule in coupled_rules()
        if rule.group_problems is not None
        for problem in rule.group_problems(view)
    ]
    everywhere = sorted((p for p in found if p.failing is None), key=lambda p: p.order)
    per_unit = sorted((p for p in found if p.failing is not None), key=lambda p: p.order)
    failing = np.zeros(at.size, dtype=bool)
    for problem in per_unit:
        failing |= problem.failing  # type: ignore[arg-type]
    if everywhere:
        failing[:] = True

    problems: dict[int, list[tuple[str, str]]] = {}
    for k in np.flatnonzero(failing).tolist():
        u = int(at[k])
        problems[u] = [(p.rule, p.says(u)) for p in everywhere] + [
            (p.rule, p.says(u))
            for p in per_unit
            if p.failing[k]  # type: ignore[index]
        ]
    return problems


def partner_problems(
    ctx: RankingContext, r: int, group: list[int], units: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """For each of these units a partner of r cannot take, why, in the partner's rules."""
    problems: dict[int, list[tuple[str, str]]] = {}
    at = np.asarray(units, dtype=np.int64)
    for m in group:
        if m == r:
            continue
        shut = at[ctx.counts[m, at] == 0]
        if shut.size == 0:
            continue
        bed_counts = bed_rule_counts(ctx, m)
        # Units alike in the partner's failed rules read alike: word each case once.
        worded, which = exclusion_cases(
            ctx, ctx.unit_failures[m][shut], ctx.bed_count[shut], [c[shut] for c in bed_counts]
        )
        partner = ctx.tables.referrals.ids[m]
        sentences = [
            keep_together.say("partner_shut_out", partner=partner, reasons=" ".join(reasons))
            for reasons, _ in worded
        ]
        for u, case in zip(shut.tolist(), which.tolist(), strict=True):
            problems.setdefault(u, []).append((KEEP_TOGETHER_RULE, sentences[case]))
    return problems


def complete_group(
    ctx: RankingContext, r: int, bed: int, group: list[int], team_r: bool = True
) -> Placement | None:
    """Bed-spaces (and teams) for every member of r's group in r's unit, r taking `bed`;
    None if no arrangement keeps every rule. A small backtracking search: groups are 2-3."""
    t = ctx.tables
    allowed = ctx.eligibility.allowed
    u = int(t.beds.unit[bed])
    unit_beds = ctx.unit_beds[u]
    visiting = bool(t.units.visiting[u])
    members = [r] + [m for m in group if m != r]
    # Python lists and numbers: the search below reads them one at a time.
    options = {m: unit_beds[allowed[m, unit_beds]].tolist() for m in members}
    options[r] = [bed]
    cluster_of = ctx.bed_cluster_list
    gender = genders(ctx, members)
    team_options = (
        {m: teams_that_may_serve(ctx, m, u).tolist() for m in members} if visiting else {}
    )
    team_room = team_rooms(ctx)

    chosen: Placement = []
    beds_used: set[int] = set()
    cluster_genders: dict[int, set[str]] = {}
    team_used: dict[int, int] = {}

    def place(k: int) -> bool:
        if k == len(members):
            return True
        m = members[k]
        for b in options[m]:
            if b in beds_used:
                continue
            c = cluster_of[b]
            here = cluster_genders.get(c, set())
            if gender[m] and ({"w", "m"} - {gender[m]}) & here:
                continue
            teams: list[int | None] = [None]
            if visiting:
                with_room = [
                    x for x in team_options[m] if int(team_room[x]) - team_used.get(x, 0) > 0
                ]
                with_room.sort(key=lambda x: -(int(team_room[x]) - team_used.get(x, 0)))
                teams = list(with_room)
            for team in teams:
                beds_used.add(b)
                cluster_genders.setdefault(c, set()).add(gender[m])
                if team is not None:
                    team_used[team] = team_used.get(team, 0) + 1
                chosen.append((m, b, team))
                if place(k + 1):
                    return True
                chosen.pop()
                if team is not None:
                    team_used[team] -= 1
                beds_used.discard(b)
                cluster_genders[c] = {gender[x] for x, y, _ in chosen if cluster_of[y] == c}
        return False

    return list(chosen) if place(0) else None


def genders(ctx: RankingContext, people: list[int]) -> dict[int, str]:
    """ "w", "m" or "" (non-binary: no cluster rule) for each person; "" for everyone while
    the cluster rule is out of force."""
    refs = ctx.tables.referrals
    if not registry.in_force(cluster_never_mixed_gender):
        return dict.fromkeys(people, "")
    return {m: "w" if refs.is_woman[m] else "m" if refs.is_man[m] else "" for m in people}


def moved_arrangement(
    ctx: RankingContext, placement: Placement, bed: int, gender: dict[int, str]
) -> Placement | None:
    """The same arrangement with the first person on `bed` instead (a partner already there
    swapping to the first person's old bed-space), if every rule still holds: the unit-wide
    limits are unchanged, so only each person's own bed-space rules and the clusters'
    gender can differ."""
    cluster_of = ctx.bed_cluster_list
    allowed = ctx.eligibility.allowed
    first, old, team = placement[0]
    moved = [(first, bed, team)]
    for m, b, partner_team in placement[1:]:
        if b == bed:
            if not allowed[m, old]:
                return None
            b = old
        moved.append((m, b, partner_team))
    for i, (m, b, _) in enumerate(moved):
        for n, c, _ in moved[i + 1 :]:
            mixed = gender[m] and gender[n] and gender[m] != gender[n]
            if mixed and cluster_of[b] == cluster_of[c]:
                return None
    return moved


def group_placements(
    ctx: RankingContext, r: int
) -> tuple[np.ndarray, dict[int, Placement] | None, dict[int, list[tuple[str, str]]]]:
    """The bed-spaces r may take as the checker would accept; for a group, each with the
    whole group's arrangement, and why units r alone could take cannot take the group."""
    t = ctx.tables
    beds = np.flatnonzero(ctx.eligibility.allowed[r])
    group = ctx.groups.get(r)
    if group is None:
        return beds, None, {}

    completions: dict[int, Placement] = {}
    # r's bed-spaces unit by unit, each unit's in ascending order.
    by_unit = beds[np.argsort(t.beds.unit[beds], kind="stable")]
    unit_of = t.beds.unit[by_unit]
    firsts = np.flatnonzero(np.concatenate(([beds.size > 0], unit_of[1:] != unit_of[:-1])))
    units_open = unit_of[firsts].tolist()
    bounds = [*firsts.tolist(), beds.size]
    failures = partner_problems(ctx, r, group, units_open)
    for u, more in group_problems_in(ctx, group, units_open).items():
        failures.setdefault(u, []).extend(more)
    gender = genders(ctx, group)
    for u, start, stop in zip(units_open, bounds, bounds[1:], strict=False):
        if u in failures:
            continue
        found: Placement | None = None
        for b in by_unit[start:stop].tolist():
            # The partners' arrangement found for another of r's bed-spaces here usually
            # holds for this one too; search afresh only when it does not.
            completion = moved_arrangement(ctx, found, b, gender) if found is not None else None
            if completion is None:
                completion = complete_group(ctx, r, b, group)
            if completion is not None:
                completions[b] = found = completion
        if found is None:
            failures[u] = [(KEEP_TOGETHER_RULE, keep_together.say("no_arrangement"))]
    return np.array(sorted(completions), dtype=np.int64), completions, failures
