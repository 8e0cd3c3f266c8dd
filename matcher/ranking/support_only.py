"""The "support only" option of a ranking: a support team alone, in the person's own home.

Offered beside the bed-spaces to a person who may take it (`Referral.wants`): every team is
put to the checker as a support-only placement of this person, nobody else newly placed, so
the option obeys exactly the rules in force, and a team it refuses is listed with the
checker's reasons. Support follows the person, not the building (002_dcd69be417dc9cc0.txt).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from constraints.checker import support_placement_violations
from constraints.coupled import (
    support_team_fits,
    team_hours_left,
    team_support_hours_within_capacity,
)
from constraints.coupled_rule import Violation
from constraints.staffing import why_team_may_not_support_at_home
from matcher.model import Pathway, Problem, Referral, SupportPlacement, SupportTeam


class SupportOption(BaseModel):
    support_team: str
    kind: str
    area: str
    caseload_left: int
    hours_left: float | None  # None: the team states no limit on hours at home
    reasons: list[str]  # why this team fits, in plain words


class ExcludedTeam(BaseModel):
    support_team: str
    reasons: list[str]
    rules: list[str] = Field(default_factory=list)


def support_only_options(
    problem: Problem, referral_id: str
) -> tuple[list[SupportOption], list[ExcludedTeam]]:
    """The teams that may support this person at home, most room first, and every team that
    may not, with why; both empty for someone who asked for a bed-space only."""
    referral = next((r for r in problem.referrals if r.id == referral_id), None)
    if referral is None or not referral.may_take_support_only:
        return [], []
    areas = {a.id: a.name or a.id for a in problem.areas}
    options: list[SupportOption] = []
    excluded: list[ExcludedTeam] = []
    for team in problem.support_teams:
        placement = SupportPlacement(referral=referral.id, support_team=team.id)
        broken = support_placement_violations(problem, [placement])
        if broken:
            excluded.append(
                ExcludedTeam(
                    support_team=team.id,
                    reasons=_why_not(referral, team, areas, broken),
                    rules=list(dict.fromkeys(v.rule for v in broken)),
                )
            )
            continue
        hours = team_hours_left(problem, team.id)
        options.append(
            SupportOption(
                support_team=team.id,
                kind=team.kind.value,
                area=team.area,
                caseload_left=team.caseload_capacity - team.current_caseload,
                hours_left=None if hours == float("inf") else hours,
                reasons=_why(referral, team, areas, hours),
            )
        )
    options.sort(key=lambda o: (-o.caseload_left, o.support_team))
    return options, excluded


def _why_not(
    referral: Referral, team: SupportTeam, areas: dict[str, str], broken: list[Violation]
) -> list[str]:
    """What rules the team out, once each: the team's fit in the coordinator's words with
    the areas by name, any other rule as the checker says it."""
    said: list[str] = []
    for violation in broken:
        if violation.rule == support_team_fits.name:
            said += [
                f"{reason[0].upper()}{reason[1:]}."
                for reason in why_team_may_not_support_at_home(referral, team, areas)
            ]
        else:
            said.append(violation.message)
    return list(dict.fromkeys(said))


def _why(referral: Referral, team: SupportTeam, areas: dict[str, str], hours: float) -> list[str]:
    room = team.caseload_capacity - team.current_caseload
    said = [
        f"Works in {areas.get(team.area, team.area)}, where the person lives.",
        f"{room} of {team.caseload_capacity} places left in its caseload.",
    ]
    if hours != float("inf"):
        said.append(team_support_hours_within_capacity.say("hours_left", left=hours))
    if referral.pathway is Pathway.housing_first:
        said.append("An intensive team, as Housing First needs.")
    if referral.wants_female_worker:
        said.append("Has a female worker, as the person asked.")
    return said
