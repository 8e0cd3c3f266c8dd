"""The cohorts commissioners ask about: one person may be in several.

Barnsley's recommendations (002_dcd69be417dc9cc0.txt) and the FAccT work on fair allocation
in homelessness services measure waits and placements per group; these are the groups the
council papers name. Shared by the batch run's equity figures and the simulation's.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from matcher.model import Flag, Gender, Pathway, Referral, Risk


class Cohort(StrEnum):
    young_people = "young_people"  # 16-25
    under_18s = "under_18s"  # 16-17: children in law, with their own duties owed
    women = "women"
    da_victims = "da_victims"
    high_risk = "high_risk"  # high or very-high risk, or MAPPA
    care_leavers = "care_leavers"
    households = "households"  # more than one person: a family unit or nothing
    housing_first = "housing_first"


MAPPA = frozenset({Flag.mappa_1, Flag.mappa_2, Flag.mappa_3})


def cohorts_of(
    age: int,
    gender: Gender,
    risk: Risk,
    flags: Collection[Flag],
    pathway: Pathway,
    household_size: int = 1,
) -> frozenset[Cohort]:
    """The cohorts a person belongs to."""
    found = set()
    if age <= 25:
        found.add(Cohort.young_people)
    if age < 18:
        found.add(Cohort.under_18s)
    if gender is Gender.woman:
        found.add(Cohort.women)
    if Flag.da_victim in flags:
        found.add(Cohort.da_victims)
    if risk.is_high or MAPPA & set(flags):
        found.add(Cohort.high_risk)
    if Flag.care_leaver in flags:
        found.add(Cohort.care_leavers)
    if household_size > 1:
        found.add(Cohort.households)
    if pathway is Pathway.housing_first:
        found.add(Cohort.housing_first)
    return frozenset(found)


def cohorts_of_referral(referral: Referral) -> frozenset[Cohort]:
    return cohorts_of(
        referral.age,
        referral.gender,
        referral.risk,
        referral.flags,
        referral.pathway,
        referral.household_size,
    )


# What a person reads for each cohort (and for the whole list).
COHORT_NAMES = {
    "all": "Everyone",
    Cohort.young_people.value: "Young people (16–25)",
    Cohort.under_18s.value: "16- and 17-year-olds",
    Cohort.women.value: "Women",
    Cohort.da_victims.value: "Domestic abuse victims",
    Cohort.high_risk.value: "High risk or MAPPA",
    Cohort.care_leavers.value: "Care leavers",
    Cohort.households.value: "Households of more than one",
    Cohort.housing_first.value: "Housing First pathway",
}
