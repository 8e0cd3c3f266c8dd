"""What a coordinator reads on a person's page: every need that decides where they can go,
their safe places one row per unit, and the units ruled out, grouped by why.

Built from the ranking's answer and the problem it ranked (for names), so the page says
nothing the ranking did not: bed-spaces of one unit score alike and read alike, so a unit is
one row with how many of its bed-spaces are free for this person; units ruled out for the
same reasons are one row naming each of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from matcher.model import Problem, Referral
from matcher.ranking import CostToOthers, RankedPlacement, RankResult

# "3 of 12 bed-spaces: not free on the placement date.": a reason that rules out some of a
# unit's bed-spaces, not the unit.
PART_OF_UNIT = re.compile(r"^\d+ of \d+ bed-spaces?:")


@dataclass(frozen=True)
class Need:
    label: str
    value: str


@dataclass(frozen=True)
class UnitRow:
    rank: int  # among units
    needs_no_reason: bool  # its bed-spaces rank first: placing there overrides nothing
    unit: str
    name: str
    free: int  # bed-spaces of the unit free and safe for this person
    first_bedspace: str  # the one a placement from this row takes
    score: int
    reasons: tuple[str, ...]  # why it scores what it does (empty past the rows ranked in full)
    points_behind: int
    cost_to_others: CostToOthers | None
    not_offered: tuple[str, ...]  # why the unit's other bed-spaces are not offered


@dataclass(frozen=True)
class ExclusionGroup:
    reasons: tuple[str, ...]  # why every unit in the group is ruled out
    units: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # name, part reasons


def needs(referral: Referral, problem: Problem) -> list[Need]:
    """Every fact about the person that decides where they can go, in plain words."""
    area_names = {a.id: a.name or a.id for a in problem.areas}
    waited = (problem.as_of - referral.referred).days
    facts = [
        Need("Priority", f"{referral.priority} of 5"),
        Need("Referred", _referred(referral, waited)),
        Need("Age and gender", f"{referral.age}, {_words(referral.gender.value)}"),
        Need("Risk", _words(referral.risk.value)),
        Need("Pathway", _words(referral.pathway.value)),
        Need("Flags", ", ".join(_words(f.value) for f in referral.flags) or "none"),
        Need("Women-only space", "needed" if referral.needs_women_only else "not needed"),
        Need("Female worker", "wanted" if referral.wants_female_worker else "not asked for"),
        Need("24-hour staffing", "needed" if referral.needs_24_7 else "not needed"),
        Need("Accessible bed-space", "needed" if referral.needs_accessible else "not needed"),
        Need("Support", f"{referral.support_hours:g} hours a week"),
        Need("Household", _household(referral.household_size)),
        Need("Preferred areas", _names(referral.preferred_areas, area_names) or "none given"),
        Need("Never in", _names(referral.excluded_areas, area_names) or "no area excluded"),
        Need("Strengths", ", ".join(_words(s) for s in referral.strengths) or "none recorded"),
    ]
    if referral.keep_apart:
        facts.append(Need("Kept apart from", ", ".join(referral.keep_apart)))
    if referral.keep_together:
        facts.append(Need("Moves in with", ", ".join(referral.keep_together)))
    return facts


def unit_rows(ranking: RankResult) -> list[UnitRow]:
    """One row per safe unit, best first; the units among the placements ranked in full
    carry their reasons and their cost to others."""
    detail: dict[str, RankedPlacement] = {}
    for placement in ranking.ranked:
        detail.setdefault(placement.unit, placement)
    rows = []
    scores = [summary["score"] for summary in ranking.units]
    for summary in ranking.units:
        placed = detail.get(summary["unit"])
        rows.append(
            UnitRow(
                # Among units: 1 + the number of units scoring more (bed-spaces alike tie).
                rank=1 + sum(score > summary["score"] for score in scores),
                needs_no_reason=summary["rank"] == 1,
                unit=summary["unit"],
                name=summary["unit_name"] or summary["unit"],
                free=len(summary["bedspaces"]),
                first_bedspace=summary["bedspaces"][0],
                score=summary["score"],
                reasons=tuple(placed.reasons) if placed is not None else (),
                points_behind=summary["points_behind"],
                cost_to_others=placed.cost_to_others if placed is not None else None,
                not_offered=tuple(summary["other_bedspaces"]),
            )
        )
    return rows


def exclusion_groups(ranking: RankResult, problem: Problem) -> list[ExclusionGroup]:
    """The units ruled out, grouped by the reasons that rule out each whole unit; what rules
    out only some of a unit's bed-spaces stays beside that unit's name."""
    names = {u.id: u.name or u.id for u in problem.units}
    groups: dict[tuple[str, ...], ExclusionGroup] = {}
    for excluded in ranking.excluded:
        reasons = tuple(excluded["reasons"])
        whole = tuple(r for r in reasons if not PART_OF_UNIT.match(r))
        part = tuple(r for r in reasons if PART_OF_UNIT.match(r))
        group = groups.setdefault(whole, ExclusionGroup(whole))
        group.units.append((names.get(excluded["unit"], excluded["unit"]), part))
    # Most units first: the reasons that shut most of the portfolio lead.
    return sorted(groups.values(), key=lambda g: (-len(g.units), g.reasons))


def _referred(referral: Referral, waited: int) -> str:
    if referral.referred_at is not None:  # the moment is known: say it (UTC)
        return f"{referral.referred_at:%d %B %Y, %H:%M} UTC ({waited} days ago)"
    return f"{referral.referred:%d %B %Y} ({waited} days ago)"


def _words(value: str) -> str:
    return value.replace("_", " ")


def _names(ids: list[str], names: dict[str, str]) -> str:
    return ", ".join(names.get(i, i) for i in ids)


def _household(size: int) -> str:
    return "on their own" if size == 1 else f"{size} people (a family unit only)"
