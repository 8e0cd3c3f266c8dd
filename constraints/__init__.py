"""The hard rules of DESIGN.md, one module per family, each rule a named function.

`PAIR_RULES` lists every rule between one referral and one place; `eligibility` turns them
into masks with reasons; `coupling` exposes the rules that tie several people together as data
for the solver backends; `checker` verifies any solution against all of them.
"""

from constraints import age, bedspace, gender, location, relationships, reserve, risk, staffing
from constraints.rule import PairRule, Place, Scope

PAIR_RULES: tuple[PairRule, ...] = (
    bedspace.bedspace_free_on_date,
    gender.women_only_units_take_only_women,
    gender.men_only_units_take_only_men,
    gender.women_only_need_met_safely,
    gender.cluster_gender_consistent_with_residents,
    gender.no_risk_to_women_beside_women_residents,
    gender.women_kept_from_residents_posing_risk,
    gender.no_perpetrator_in_refuge,
    gender.no_risk_to_children_in_family_units,
    age.within_age_band,
    age.under_18s_only_where_approved,
    risk.risk_within_unit_maximum,
    risk.mappa_2_3_only_in_approved_24_7_units,
    risk.high_risk_room_left,
    staffing.needs_24_7_only_where_staffed,
    staffing.support_hours_room_left,
    staffing.support_team_available,
    staffing.placed_as_they_asked,
    location.never_in_excluded_area,
    location.da_kept_apart_from_resident_area,
    relationships.kept_apart_from_residents,
    bedspace.accessible_where_needed,
    bedspace.households_only_in_family_units,
    reserve.women_only_reserve_held,
)

UNIT_RULES = tuple(rule for rule in PAIR_RULES if rule.scope is Scope.unit)
BEDSPACE_RULES = tuple(rule for rule in PAIR_RULES if rule.scope is Scope.bedspace)
RULES_BY_NAME = {rule.name: rule for rule in PAIR_RULES}

__all__ = ["BEDSPACE_RULES", "PAIR_RULES", "RULES_BY_NAME", "UNIT_RULES", "PairRule", "Place"]
