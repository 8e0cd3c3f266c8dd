"""The women-only reserve: free women-only bed-spaces held back for the most urgent DA victims."""

from __future__ import annotations

import numpy as np

from constraints.rule import Place, pair_rule
from constraints.tables import Tables
from matcher.model import Flag, GenderPolicy, Referral


def reserve_exempt(referral: Referral) -> bool:
    """Priority-5 domestic abuse victims may take reserved women-only bed-spaces."""
    return referral.priority == 5 and Flag.da_victim in referral.flags


@pair_rule(
    "Women-only bed-spaces left are held back for priority-5 domestic abuse victims.",
    family_number=9,
)
def women_only_reserve_held(referral: Referral, place: Place) -> bool:
    """Referrals other than priority-5 DA victims take at most the free women-only bed-spaces
    less the reserve (000_6536288ccc9992c8.txt: high-risk DA response within 8 hours)."""
    if place.unit.gender_policy is not GenderPolicy.women_only or reserve_exempt(referral):
        return True
    return place.women_only_reserve_room > 0


@women_only_reserve_held.vectorised
def _(t: Tables) -> np.ndarray:
    room = int(t.units.free_women_only_beds.sum()) - t.problem.policy.women_only_reserve
    exempt = (t.referrals.priority == 5) & t.referrals.flags[Flag.da_victim]
    return ~t.units.women_only[None, :] | exempt[:, None] | (room > 0)
