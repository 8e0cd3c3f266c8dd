"""Location: areas a person must never be placed in, and distance between DA victims and
the people they are kept apart from."""

from __future__ import annotations

import numpy as np

from constraints.rule import Place, SupportPlace, pair_rule
from constraints.tables import Tables
from matcher.model import Flag, Referral


@pair_rule("Unit is in an area this person must never be placed in.", family_number=6)
def never_in_excluded_area(referral: Referral, place: Place) -> bool:
    """A person is never placed in one of their excluded areas
    (002_dcd69be417dc9cc0.txt: careful matching of individuals to places, looking at location)."""
    return place.unit.area not in referral.excluded_areas


@never_in_excluded_area.vectorised
def _(t: Tables) -> np.ndarray:
    return ~t.referrals.excluded_area[:, t.units.area]


@never_in_excluded_area.for_support_only(
    "Support at home would keep the person in an area they must never be placed in."
)
def _(referral: Referral, place: SupportPlace) -> bool:
    return place.area not in referral.excluded_areas


def da_opposed(a_flags: list[Flag], b_flags: list[Flag]) -> bool:
    """One of the two is a domestic abuse victim and the other a perpetrator."""
    return (Flag.da_victim in a_flags and Flag.da_perpetrator in b_flags) or (
        Flag.da_perpetrator in a_flags and Flag.da_victim in b_flags
    )


@pair_rule(
    "A domestic abuse victim or perpetrator this person is kept apart from lives in this area.",
    family_number=6,
)
def da_kept_apart_from_resident_area(referral: Referral, place: Place) -> bool:
    """A DA victim and a perpetrator kept apart from each other never live in the same area
    (000_6536288ccc9992c8.txt: domestic abuse services and safety)."""
    return not any(
        resident.id in referral.keep_apart and da_opposed(referral.flags, resident.flags)
        for resident in place.area_residents
    )


@da_kept_apart_from_resident_area.vectorised
def _(t: Tables) -> np.ndarray:
    allowed = np.ones((len(t.referrals), len(t.area_index)), dtype=bool)
    residents = {r.id: r for r in t.problem.residents}
    for i, referral in enumerate(t.problem.referrals):
        for other in referral.keep_apart:
            resident = residents.get(other)
            if resident is None or other not in t.resident_area:
                continue  # a referral, or a resident who has left
            if da_opposed(referral.flags, resident.flags):
                allowed[i, t.resident_area[other]] = False
    return allowed[:, t.units.area]
