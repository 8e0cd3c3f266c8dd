"""The women's provision quota: the share of bed-spaces and support offers that meet women's needs.

About 30% of bed-spaces and support offers should be designed so women's needs are met
safely: women-only shared accommodation, self-contained units, access to female workers
(DESIGN.md facts list, from the commissioning papers). Bed-spaces count if their unit is
women-only or self-contained; support offers count as the caseload places of teams with at
least one female worker, since a place on a caseload is what a referral is offered.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from matcher.model import GenderPolicy, Problem

WOMEN_SAFE_TARGET = 0.30


class WomenOnlyShare(BaseModel):
    model_config = ConfigDict(frozen=True)

    target: float = WOMEN_SAFE_TARGET
    bedspaces: int
    women_only_bedspaces: int
    self_contained_bedspaces: int
    women_safe_bedspaces: int
    women_only_share: float
    women_safe_share: float
    bedspaces_meet_target: bool
    support_teams: int
    teams_with_female_workers: int
    caseload_places: int
    caseload_places_with_female_workers: int
    support_offer_share: float
    support_offers_meet_target: bool


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def women_only_share(problem: Problem, target: float = WOMEN_SAFE_TARGET) -> WomenOnlyShare:
    """How much of the portfolio's beds and support meets women's needs, against `target`."""
    units = {u.id: u for u in problem.units}
    women_only = self_contained = women_safe = 0
    for bed in problem.bedspaces:
        unit = units[bed.unit]
        is_women_only = unit.gender_policy is GenderPolicy.women_only
        women_only += is_women_only
        self_contained += unit.self_contained
        women_safe += is_women_only or unit.self_contained
    total = len(problem.bedspaces)
    with_women = [t for t in problem.support_teams if t.female_workers > 0]
    places = sum(t.caseload_capacity for t in problem.support_teams)
    places_with_women = sum(t.caseload_capacity for t in with_women)
    return WomenOnlyShare(
        target=target,
        bedspaces=total,
        women_only_bedspaces=women_only,
        self_contained_bedspaces=self_contained,
        women_safe_bedspaces=women_safe,
        women_only_share=_share(women_only, total),
        women_safe_share=_share(women_safe, total),
        bedspaces_meet_target=total > 0 and _share(women_safe, total) >= target,
        support_teams=len(problem.support_teams),
        teams_with_female_workers=len(with_women),
        caseload_places=places,
        caseload_places_with_female_workers=places_with_women,
        support_offer_share=_share(places_with_women, places),
        support_offers_meet_target=places > 0 and _share(places_with_women, places) >= target,
    )
