"""Staffing and support: 24/7 cover, support hours a unit can give, and support teams."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from constraints.rule import Place, SupportPlace, pair_rule
from constraints.tables import Tables
from matcher.model import Pathway, Referral, Staffing, SupportTeam, TeamKind, Unit

# Support hours are sums of fractional hours; compare with a tolerance so that summing
# the same hours in another order never flips a decision.
HOURS_TOLERANCE = 1e-6


@pair_rule("Person needs 24/7 staffing; unit is not staffed 24/7.", family_number=5)
def needs_24_7_only_where_staffed(referral: Referral, place: Place) -> bool:
    """People who need round-the-clock cover go only to units staffed 24/7
    (001_f0b97a0675c2ab20.txt: specialist accommodation staffed 24/7)."""
    return not referral.needs_24_7 or place.unit.staffing is Staffing.staffed_24_7


@needs_24_7_only_where_staffed.vectorised
def _(t: Tables) -> np.ndarray:
    return ~t.referrals.needs_24_7[:, None] | t.units.staffed_24_7[None, :]


@pair_rule("Unit has too few support hours left for this person.", family_number=5)
def support_hours_room_left(referral: Referral, place: Place) -> bool:
    """Residents' and newcomers' support hours stay within the unit's capacity; where residents
    already exceed it, newcomers bring none (001_f0b97a0675c2ab20.txt: levels of cover)."""
    used = sum(r.support_hours for r in place.unit_residents)
    room = max(0.0, place.unit.support_hours_capacity - used)
    return referral.support_hours <= room + HOURS_TOLERANCE


@support_hours_room_left.vectorised
def _(t: Tables) -> np.ndarray:
    room = t.units.support_hours_room + HOURS_TOLERANCE
    return t.referrals.support_hours[:, None] <= room[None, :]


def team_may_serve(referral: Referral, unit: Unit, team: SupportTeam) -> bool:
    """A team may take this placement: it works in the unit's area, is intensive where Housing
    First is involved, and has a female worker where one is wanted (capacity aside)."""
    return team_may_serve_in(
        referral, unit.area, team, housing_first_place=unit.pathway is Pathway.housing_first
    )


def team_may_serve_in(
    referral: Referral, area: str | None, team: SupportTeam, housing_first_place: bool = False
) -> bool:
    """A team may support this person in this area: it works there, is intensive where Housing
    First is involved, and has a female worker where one is wanted (capacity aside). A
    support-only placement is in the person's home area, with no unit's pathway."""
    needs_intensive = referral.pathway is Pathway.housing_first or housing_first_place
    return (
        team.area == area
        and (team.kind is TeamKind.intensive or not needs_intensive)
        and (team.female_workers > 0 or not referral.wants_female_worker)
    )


@pair_rule("Person asked for support in their own home, not a bed-space.", family_number=5)
def placed_as_they_asked(referral: Referral, place: Place) -> bool:
    """A person is placed as they asked: in a bed-space if they asked for one, with a team
    alone at home if they asked for support only; a place standing for one person's home is
    theirs alone (002_dcd69be417dc9cc0.txt: floating support that follows the person)."""
    home_of = place.problem.home_places.get(place.unit.id)
    if home_of is not None:
        return home_of == referral.id
    return referral.may_take_bed


@placed_as_they_asked.vectorised
def _(t: Tables) -> np.ndarray:
    owner = t.units.support_only_for
    own_home = owner[None, :] == np.arange(len(t.referrals))[:, None]
    return np.where(owner[None, :] >= 0, own_home, t.referrals.may_take_bed[:, None])


@placed_as_they_asked.for_support_only("Person asked for a bed-space, not support alone.")
def _(referral: Referral, place: SupportPlace) -> bool:
    return referral.may_take_support_only


def why_team_may_not_support_at_home(
    referral: Referral, team: SupportTeam, area_names: Mapping[str, str] | None = None
) -> list[str]:
    """Each part of `team_may_serve_in` the team fails for support in the person's home, in a
    coordinator's words (empty if it may serve); areas by name where `area_names` has them."""

    def area(area_id: str) -> str:
        return area_names.get(area_id, area_id) if area_names else f"area {area_id}"

    reasons = []
    if referral.home_area is None:
        reasons.append("the person's home area is not recorded")
    elif team.area != referral.home_area:
        reasons.append(
            f"the team works in {area(team.area)}; the person lives in {area(referral.home_area)}"
        )
    if referral.pathway is Pathway.housing_first and team.kind is not TeamKind.intensive:
        reasons.append(f"Housing First needs an intensive team; this is a {team.kind} team")
    if referral.wants_female_worker and team.female_workers == 0:
        reasons.append("the person wants a female worker; the team has none")
    return reasons


def why_team_may_not_serve(referral: Referral, unit: Unit, team: SupportTeam) -> list[str]:
    """Each part of `team_may_serve` the team fails, in a coordinator's words (empty if it
    may serve): said when a person moves and their team cannot follow."""
    needs_intensive = (
        referral.pathway is Pathway.housing_first or unit.pathway is Pathway.housing_first
    )
    reasons = []
    if team.area != unit.area:
        reasons.append(f"the team works in area {team.area}; the unit is in area {unit.area}")
    if needs_intensive and team.kind is not TeamKind.intensive:
        reasons.append(f"Housing First needs an intensive team; this is a {team.kind} team")
    if referral.wants_female_worker and team.female_workers == 0:
        reasons.append("the person wants a female worker; the team has none")
    return reasons


@pair_rule(
    "Unit needs a visiting support team; none in its area can take this person.", family_number=5
)
def support_team_available(referral: Referral, place: Place) -> bool:
    """A placement in a visiting unit gets a support team from the unit's area with room: an
    intensive one for Housing First, with a female worker where wanted
    (004_a7a7d18c3a44ee66.txt: Complex Lives caseloads; 003_a67c211e5b94c3ff.txt: Housing First)."""
    if place.unit.staffing is not Staffing.visiting:
        return True
    return any(team_may_serve(referral, place.unit, team) for team in place.teams_with_room)


@support_team_available.vectorised
def _(t: Tables) -> np.ndarray:
    r, u = t.referrals, t.units
    needs_intensive = r.pathway_housing_first[:, None] | u.pathway_housing_first[None, :]
    needs_female = r.wants_female_worker[:, None]
    any_team, female, intensive, intensive_female = (
        t.team_available[:, k][None, :] for k in range(4)
    )
    served = np.where(
        needs_intensive,
        np.where(needs_female, intensive_female, intensive),
        np.where(needs_female, female, any_team),
    )
    return ~u.visiting[None, :] | served
