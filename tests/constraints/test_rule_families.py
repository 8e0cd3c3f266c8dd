"""Each pair rule names its family in DESIGN.md's list of hard rules, 1 to 9."""

from constraints import PAIR_RULES, RULES_BY_NAME


def test_every_family_has_a_rule_and_every_rule_a_family() -> None:
    assert {rule.family_number for rule in PAIR_RULES} == set(range(1, 10))


def test_families_as_design_lists_them() -> None:
    expected = {
        "bedspace_free_on_date": 1,
        "cluster_gender_consistent_with_residents": 2,
        "under_18s_only_where_approved": 3,
        "mappa_2_3_only_in_approved_24_7_units": 4,
        "support_hours_room_left": 5,
        "never_in_excluded_area": 6,
        "kept_apart_from_residents": 7,
        "households_only_in_family_units": 8,
        "women_only_reserve_held": 9,
    }
    assert {name: RULES_BY_NAME[name].family_number for name in expected} == expected
