"""A coordinator's choice of any eligible placement, not only the top one, kept with their
reason; a placement a hard rule forbids is refused with every rule's reason."""

from __future__ import annotations

from constraints import registry
from constraints.coupled import keep_together_same_unit_or_neither as keep_together
from constraints.coupled import (
    support_team_fits,
    team_caseload_within_capacity,
)
from matcher.errors import Issue, PlacementRefused, ProblemInvalid
from matcher.model import Assignment
from matcher.ranking.answer import rank
from matcher.ranking.context import RankingContext
from matcher.ranking.cost import cost_to_others
from matcher.ranking.groups import (
    KEEP_TOGETHER_RULE,
    Placement,
    complete_group,
    group_problems_in,
    partner_problems,
)
from matcher.ranking.results import OverrideDecision, PartnerPlacement
from matcher.ranking.teams import choose_team, team_rooms, teams_that_may_serve


def override(
    ctx: RankingContext,
    referral_id: str,
    bedspace_id: str,
    reason: str,
    support_team: str | None = None,
) -> OverrideDecision:
    """Choose any eligible placement, not only the top one, keeping the coordinator's reason.

    Raises `PlacementRefused` with every broken rule's reason for a placement a hard rule
    forbids, whatever the reason given; `ProblemInvalid` for an empty reason or unknown ids.
    """
    r = ctx.referral_index(referral_id)
    t = ctx.tables
    issues = []
    if not reason.strip():
        issues.append(Issue(("reason",), "a reason is required to override the ranking"))
    b = t.beds.index.get(bedspace_id)
    if b is None:
        issues.append(Issue(("bedspace",), f"unknown bed-space id {bedspace_id!r}"))
    team = t.teams.index.get(support_team) if support_team is not None else None
    if support_team is not None and team is None:
        issues.append(Issue(("support_team",), f"unknown support team id {support_team!r}"))
    if issues or b is None:
        raise ProblemInvalid(issues)

    if not ctx.eligibility.allowed[r, b]:
        failed = ctx.eligibility.rules_failed(r, b)
        raise PlacementRefused(
            referral_id, bedspace_id, [rule.name for rule in failed], [x.reason for x in failed]
        )
    u = int(t.beds.unit[b])
    group = ctx.groups.get(r)
    placement: Placement | None
    if group is not None:
        problems = partner_problems(ctx, r, group, [u]).get(u, [])
        problems += group_problems_in(ctx, group, [u]).get(u, [])
        placement = None if problems else complete_group(ctx, r, b, group)
        if placement is None:
            problems = problems or [
                (KEEP_TOGETHER_RULE, keep_together.say("no_arrangement_override"))
            ]
            raise PlacementRefused(
                referral_id, bedspace_id, [p[0] for p in problems], [p[1] for p in problems]
            )
    else:
        placement = [(r, b, choose_team(ctx, r, u, {}) if t.units.visiting[u] else None)]

    if team is not None:
        if (
            registry.in_force(support_team_fits)
            and team not in teams_that_may_serve(ctx, r, u).tolist()
        ):
            raise PlacementRefused(
                referral_id,
                bedspace_id,
                [support_team_fits.name],
                [support_team_fits.say("override", team=support_team)],
            )
        load = 1 + sum(1 for m, _, tm in placement[1:] if tm == team)
        if team_rooms(ctx)[team] < load:
            raise PlacementRefused(
                referral_id,
                bedspace_id,
                [team_caseload_within_capacity.name],
                [team_caseload_within_capacity.say("override", team=support_team)],
            )
        placement[0] = (r, b, team)

    scores = ctx.total[r]
    ranking = rank(ctx, referral_id, cost_top=0)
    top = ranking.ranked[0]
    my_score = int(scores[u])
    chosen_team = placement[0][2]
    partners = [
        PartnerPlacement(
            referral=t.referrals.ids[m],
            bedspace=t.beds.ids[pb],
            support_team=t.teams.ids[tm] if tm is not None else None,
        )
        for m, pb, tm in placement[1:]
    ]
    return OverrideDecision(
        referral=referral_id,
        bedspace=bedspace_id,
        unit=t.units.ids[u],
        support_team=t.teams.ids[chosen_team] if chosen_team is not None else None,
        score=my_score,
        terms=ctx.scores.pair_terms(r, u),
        rank=1 + sum(1 for p in ranking.ranked if p.score > my_score),
        top_score=top.score,
        top_bedspace=top.bedspace,
        reason=reason.strip(),
        partners=partners,
        cost_to_others=cost_to_others(ctx, placement),
        assignments=[
            Assignment(
                referral=t.referrals.ids[m],
                bedspace=t.beds.ids[pb],
                support_team=t.teams.ids[tm] if tm is not None else None,
                score=float(ctx.total[m, u]),
                terms={k: float(v) for k, v in ctx.scores.pair_terms(m, u).items()},
            )
            for m, pb, tm in placement
        ],
    )
