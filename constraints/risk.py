"""Risk: the unit's risk ceiling, MAPPA approval, and how many high-risk people it holds."""

from __future__ import annotations

import numpy as np

from constraints.rule import Place, pair_rule
from constraints.tables import Tables
from matcher.model import Flag, Referral, Staffing


@pair_rule("Person's risk is above the unit's maximum.", family_number=4)
def risk_within_unit_maximum(referral: Referral, place: Place) -> bool:
    """A person's risk level is at most the unit's maximum
    (002_dcd69be417dc9cc0.txt: matching considers risks as well as strengths)."""
    return referral.risk.level <= place.unit.max_risk.level


@risk_within_unit_maximum.vectorised
def _(t: Tables) -> np.ndarray:
    return t.referrals.risk[:, None] <= t.units.max_risk[None, :]


@pair_rule(
    "Person is MAPPA level 2 or 3; unit is not a MAPPA-approved 24/7 service.", family_number=4
)
def mappa_2_3_only_in_approved_24_7_units(referral: Referral, place: Place) -> bool:
    """MAPPA level 2 and 3 offenders go only to MAPPA-approved units staffed 24/7
    (001_f0b97a0675c2ab20.txt: high-risk / MAPPA offenders in separate, staffed premises)."""
    if Flag.mappa_2 not in referral.flags and Flag.mappa_3 not in referral.flags:
        return True
    return place.unit.mappa_approved and place.unit.staffing is Staffing.staffed_24_7


@mappa_2_3_only_in_approved_24_7_units.vectorised
def _(t: Tables) -> np.ndarray:
    approved = t.units.mappa_approved & t.units.staffed_24_7
    return ~t.referrals.mappa_2_or_3[:, None] | approved[None, :]


@pair_rule("Person is high risk; unit is at its limit of high-risk residents.", family_number=4)
def high_risk_room_left(referral: Referral, place: Place) -> bool:
    """High and very-high risk people per unit stay within its limit, residents counted
    (001_f0b97a0675c2ab20.txt: cover appropriate to the needs)."""
    if not referral.risk.is_high:
        return True
    high = sum(1 for r in place.unit_residents if r.risk.is_high)
    return high < place.unit.max_high_risk_residents


@high_risk_room_left.vectorised
def _(t: Tables) -> np.ndarray:
    return ~t.referrals.is_high_risk[:, None] | (t.units.high_risk_room > 0)[None, :]
