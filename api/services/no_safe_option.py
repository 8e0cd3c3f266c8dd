"""Who on the By Name List has no safe option anywhere: no bed-space in the whole portfolio
passes the hard rules for them, nor (for someone who may take it) any support team at home,
even were every bed-space empty and every team free. Such a
person is raised at the high harm / high vulnerability panel (002_dcd69be417dc9cc0.txt), with
the rule families that shut them out.

The question is put to the ranking exactly as a waiting referral's is (`matcher.ranking`):
the person's needs against every unit, the same masks, the same exclusions counted per rule.
Only occupancy is taken out (residents, dates a bed-space frees, caseloads), because who is
in a bed-space today is a wait, not a reason nobody can ever take them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from constraints import RULES_BY_NAME
from matcher.model import Problem, Referral
from matcher.ranking import build_context
from matcher.ranking.exclusions import bed_rule_counts, exclusion_counts
from matcher.ranking.support_only import support_only_options

PANEL = "no safe option: raise at the high harm / high vulnerability panel"

# The hard-rule families of DESIGN.md, by number, as a coordinator reads them.
FAMILY_WORDS = {
    1: "bed-space free",
    2: "gender safety",
    3: "age",
    4: "risk",
    5: "staffing and support",
    6: "location",
    7: "relationships",
    8: "bed-space and household",
    9: "women-only reserve",
}


@dataclass(frozen=True)
class BlockingFamily:
    number: int
    words: str
    units: int  # how many units a rule of this family shuts to the person


@dataclass(frozen=True)
class SafeOptions:
    bedspaces: int  # bed-spaces that would pass every hard rule, were they free
    blocking: tuple[BlockingFamily, ...]  # empty when some bed-space or team passes
    support_teams: int = 0  # teams that could support them at home, with room

    @property
    def none(self) -> bool:
        return self.bedspaces == 0 and self.support_teams == 0


def portfolio_as_built(problem: Problem, people: Sequence[Referral]) -> Problem:
    """The portfolio with nobody in it and every bed-space and team free, and `people`
    (each person's latest referral) waiting for it."""
    bedspaces = [b.model_copy(update={"available_from": None}) for b in problem.bedspaces]
    teams = [t.model_copy(update={"current_caseload": 0}) for t in problem.support_teams]
    # Who a person must be kept apart from or together with is about people, who are not
    # here; it never makes a unit unsafe in itself.
    waiting = [p.model_copy(update={"keep_apart": [], "keep_together": []}) for p in people]
    return problem.model_copy(
        update={
            "bedspaces": bedspaces,
            "support_teams": teams,
            "residents": [],
            "referrals": waiting,
        }
    )


def safe_options(problem: Problem, people: Sequence[Referral]) -> dict[str, SafeOptions]:
    """Per referral id: how many bed-spaces would pass the hard rules for the person, and
    when none would, the rule families that shut them out."""
    if not people:
        return {}
    as_built = portfolio_as_built(problem, people)
    context = build_context(as_built)
    every_unit = np.arange(len(context.tables.units))
    found: dict[str, SafeOptions] = {}
    for r, person in enumerate(context.tables.referrals.ids):
        total = int(context.eligible_total[r])
        if total:
            found[person] = SafeOptions(total, ())
            continue
        # Support that follows the person is a safe option too, for one who may take it.
        at_home, _ = support_only_options(as_built, person)
        if at_home:
            found[person] = SafeOptions(0, (), support_teams=len(at_home))
            continue
        counted = exclusion_counts(context, r, every_unit, {}, bed_rule_counts(context, r))
        by_family: dict[int, int] = {}
        for rule_name, units in counted.items():
            rule = RULES_BY_NAME.get(rule_name)
            number = rule.family_number if rule is not None else 0
            by_family[number] = max(by_family.get(number, 0), units)
        found[person] = SafeOptions(
            0,
            tuple(
                BlockingFamily(n, FAMILY_WORDS.get(n, "other"), units)
                for n, units in sorted(by_family.items())
            ),
        )
    return found
