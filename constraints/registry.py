"""The registry: every hard rule of DESIGN.md, once, and which of them are in force.

Pair rules (one referral, one place) and coupled rules (several people) are listed together.
A coupled rule on shared capacity carries its pair form (`CoupledRule.pair_forms`), so that
rule is listed once, as the coupled rule. Every consumer asks the registry at call time
which rules are in force (`pair_rules`, `coupled_rules`): the masks, the checker, the
ranking, the unplaced reasons and the backends' rows. A rule taken out of `HARD_RULES` is
then allowed by all of them at once, which is how the tests show that none keeps a copy.

`constraints.PAIR_RULES` stays the fixed layout of the masks' failure bits; a pair rule out
of force keeps its bit, which is simply never set.
"""

from __future__ import annotations

from constraints import age, bedspace, gender, location, risk, staffing
from constraints import coupled as c
from constraints.coupled_rule import CoupledRule
from constraints.rule import PairRule

HardRule = PairRule | CoupledRule

HARD_RULES: tuple[HardRule, ...] = (
    # 1. One person per bed-space, free on the date.
    bedspace.bedspace_free_on_date,
    c.each_referral_placed_once,
    c.one_person_per_bedspace,
    # 2. Gender safety.
    gender.women_only_units_take_only_women,
    gender.men_only_units_take_only_men,
    gender.women_only_need_met_safely,
    gender.no_perpetrator_in_refuge,
    gender.no_risk_to_children_in_family_units,
    c.cluster_never_mixed_gender,
    c.risk_to_women_never_with_women,
    # 3. Age.
    age.within_age_band,
    age.under_18s_only_where_approved,
    # 4. Risk.
    risk.risk_within_unit_maximum,
    risk.mappa_2_3_only_in_approved_24_7_units,
    c.high_risk_within_unit_limit,
    # 5. Staffing and support.
    staffing.needs_24_7_only_where_staffed,
    c.support_hours_within_capacity,
    c.support_team_required,
    c.support_team_fits,
    c.team_caseload_within_capacity,
    c.team_support_hours_within_capacity,
    staffing.placed_as_they_asked,
    # 6. Location.
    location.never_in_excluded_area,
    c.da_victim_and_perpetrator_never_in_same_area,
    # 7. Relationships.
    c.keep_apart_never_in_same_unit,
    c.keep_together_same_unit_or_neither,
    # 8. The bed-space and the household.
    bedspace.accessible_where_needed,
    bedspace.households_only_in_family_units,
    # 9. The women-only reserve.
    c.women_only_reserve_held,
)

# Every rule the project knows, fixed at import: `HARD_RULES` may be narrowed, these are not.
ALL_RULES: tuple[HardRule, ...] = HARD_RULES
ALL_COUPLED: tuple[CoupledRule, ...] = tuple(r for r in HARD_RULES if isinstance(r, CoupledRule))
COUPLED_BY_NAME = {rule.name: rule for rule in ALL_COUPLED}


def coupled_rules() -> tuple[CoupledRule, ...]:
    """The coupled rules in force, in registry order."""
    return tuple(rule for rule in HARD_RULES if isinstance(rule, CoupledRule))


def pair_rules_in_force() -> frozenset[PairRule]:
    """The pair rules in force: those listed, and the pair forms of coupled rules listed."""
    found: set[PairRule] = set()
    for rule in HARD_RULES:
        if isinstance(rule, CoupledRule):
            found.update(rule.pair_forms)
        else:
            found.add(rule)
    return frozenset(found)


def in_force(rule: HardRule) -> bool:
    """Whether the rule is in force: listed, or the pair form of a coupled rule listed."""
    if isinstance(rule, CoupledRule):
        return rule in HARD_RULES
    return rule in pair_rules_in_force()


def coupled_rule_named(name: str) -> CoupledRule:
    """The coupled rule of this name, in force or not (for its sentences)."""
    return COUPLED_BY_NAME[name]


def every_rule() -> tuple[HardRule, ...]:
    """Every rule the project knows, listed and pair forms alike, in force or not."""
    pair_forms = [form for rule in ALL_COUPLED for form in rule.pair_forms]
    return (*ALL_RULES, *pair_forms)
