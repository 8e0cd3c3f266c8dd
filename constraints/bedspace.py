"""The bed-space itself: free on the placement date, accessible, sized for the household."""

from __future__ import annotations

import numpy as np

from constraints.rule import Place, Scope, pair_rule
from constraints.tables import Tables
from matcher.model import Referral, UnitKind


@pair_rule(
    "Bed-space is not free on the placement date.",
    scope=Scope.bedspace,
    family_number=1,
    every_bedspace="No bed-space here is free on the placement date.",
    some_bedspaces="{k} of {n} bed-spaces: not free on the placement date.",
)
def bedspace_free_on_date(referral: Referral, place: Place) -> bool:
    """A bed-space takes a newcomer only if nobody stays in it and it is available on `as_of`
    (DESIGN.md hard rule 1)."""
    return place.free


@bedspace_free_on_date.vectorised
def _(t: Tables) -> np.ndarray:
    return t.beds.free[None, :]


@pair_rule(
    "Person needs an accessible bed-space; this one is not.",
    scope=Scope.bedspace,
    family_number=8,
    every_bedspace="Person needs an accessible bed-space; none here is accessible.",
    some_bedspaces="{k} of {n} bed-spaces: not accessible.",
)
def accessible_where_needed(referral: Referral, place: Place) -> bool:
    """People who need an accessible bed-space get one
    (001_f0b97a0675c2ab20.txt: services for people with disabilities)."""
    return not referral.needs_accessible or place.bed.accessible


@accessible_where_needed.vectorised
def _(t: Tables) -> np.ndarray:
    return ~t.referrals.needs_accessible[:, None] | t.beds.accessible[None, :]


@pair_rule("Household of more than one person; unit is not a family unit.", family_number=8)
def households_only_in_family_units(referral: Referral, place: Place) -> bool:
    """A household of more than one goes only to a family unit
    (001_f0b97a0675c2ab20.txt: families and couples in distinct units)."""
    return referral.household_size <= 1 or place.unit.kind is UnitKind.family


@households_only_in_family_units.vectorised
def _(t: Tables) -> np.ndarray:
    return (t.referrals.household_size <= 1)[:, None] | t.units.is_kind(UnitKind.family)[None, :]
