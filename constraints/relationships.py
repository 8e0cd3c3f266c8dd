"""Relationships: people kept apart from residents of a unit."""

from __future__ import annotations

import numpy as np

from constraints.rule import Place, pair_rule
from constraints.tables import Tables
from matcher.model import Referral


@pair_rule("Someone this person must be kept apart from lives in this unit.", family_number=7)
def kept_apart_from_residents(referral: Referral, place: Place) -> bool:
    """People named in keep_apart never share a unit, residents included
    (002_dcd69be417dc9cc0.txt: matching looks at the building's residents)."""
    return not any(resident.id in referral.keep_apart for resident in place.unit_residents)


@kept_apart_from_residents.vectorised
def _(t: Tables) -> np.ndarray:
    allowed = np.ones((len(t.referrals), len(t.units)), dtype=bool)
    for i, referral in enumerate(t.problem.referrals):
        for other in referral.keep_apart:
            if other in t.resident_unit:
                allowed[i, t.resident_unit[other]] = False
    return allowed
