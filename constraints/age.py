"""Age: the unit's age band, and the approval needed to house 16 and 17 year olds."""

from __future__ import annotations

import numpy as np

from constraints.rule import Place, pair_rule
from constraints.tables import Tables
from matcher.model import Referral


@pair_rule("Person's age is outside the unit's age band.", family_number=3)
def within_age_band(referral: Referral, place: Place) -> bool:
    """A person's age lies within the unit's band, e.g. 16–25 for young people's services
    (001_f0b97a0675c2ab20.txt: young people 16–25 in distinct units)."""
    return place.unit.min_age <= referral.age <= place.unit.max_age


@within_age_band.vectorised
def _(t: Tables) -> np.ndarray:
    age = t.referrals.age[:, None]
    return (t.units.min_age[None, :] <= age) & (age <= t.units.max_age[None, :])


@pair_rule("Person is under 18; unit is not approved for under-18s.", family_number=3)
def under_18s_only_where_approved(referral: Referral, place: Place) -> bool:
    """16–17 year olds go only to services approved for under-18s
    (001_f0b97a0675c2ab20.txt: services for 16 and 17 year olds)."""
    return referral.age >= 18 or place.unit.under_18_approved


@under_18s_only_where_approved.vectorised
def _(t: Tables) -> np.ndarray:
    return (t.referrals.age >= 18)[:, None] | t.units.under_18_approved[None, :]
