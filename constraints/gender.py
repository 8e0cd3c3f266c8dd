"""Gender safety: who may share a unit or a cluster's kitchen and bathroom with whom."""

from __future__ import annotations

import numpy as np

from constraints.rule import Place, Scope, pair_rule
from constraints.tables import Tables
from matcher.model import Flag, Gender, GenderPolicy, Referral, UnitKind


@pair_rule("Unit is women-only.", family_number=2)
def women_only_units_take_only_women(referral: Referral, place: Place) -> bool:
    """Women-only units take only women; non-binary people go to mixed units
    (002_dcd69be417dc9cc0.txt: ~30% women-only spaces)."""
    return (
        place.unit.gender_policy is not GenderPolicy.women_only or referral.gender is Gender.woman
    )


@women_only_units_take_only_women.vectorised
def _(t: Tables) -> np.ndarray:
    return ~t.units.women_only[None, :] | t.referrals.is_woman[:, None]


@pair_rule("Unit is men-only.", family_number=2)
def men_only_units_take_only_men(referral: Referral, place: Place) -> bool:
    """Men-only units take only men; non-binary people go to mixed units
    (001_f0b97a0675c2ab20.txt: customer groups kept separate)."""
    return place.unit.gender_policy is not GenderPolicy.men_only or referral.gender is Gender.man


@men_only_units_take_only_men.vectorised
def _(t: Tables) -> np.ndarray:
    return ~t.units.men_only[None, :] | t.referrals.is_man[:, None]


@pair_rule(
    "Person needs a women-only space; unit is neither women-only nor self-contained.",
    family_number=2,
)
def women_only_need_met_safely(referral: Referral, place: Place) -> bool:
    """A woman who needs a women-only space goes to a women-only or self-contained unit
    (002_dcd69be417dc9cc0.txt: women-only shared accommodation or self-contained units)."""
    unit = place.unit
    return (
        not referral.needs_women_only
        or unit.gender_policy is GenderPolicy.women_only
        or unit.self_contained
    )


@women_only_need_met_safely.vectorised
def _(t: Tables) -> np.ndarray:
    unit_ok = t.units.women_only | t.units.self_contained
    return ~t.referrals.needs_women_only[:, None] | unit_ok[None, :]


@pair_rule(
    "Unit has shared facilities in a cluster where people of another gender live.",
    scope=Scope.bedspace,
    family_number=2,
    every_bedspace="Every bed-space here shares facilities with people of another gender.",
    some_bedspaces="{k} of {n} bed-spaces: facilities shared with people of another gender.",
)
def cluster_gender_consistent_with_residents(referral: Referral, place: Place) -> bool:
    """Bed-spaces sharing a kitchen and bathroom never hold both men and women
    (002_dcd69be417dc9cc0.txt: women's needs met safely)."""
    genders = {r.gender for r in place.cluster_residents}
    if referral.gender is Gender.man:
        return Gender.woman not in genders
    if referral.gender is Gender.woman:
        return Gender.man not in genders
    return True


@cluster_gender_consistent_with_residents.vectorised
def _(t: Tables) -> np.ndarray:
    # One row per kind of newcomer (neither, man, woman), then a row picked per referral:
    # one gather over (referrals, bed-spaces) instead of two outer products and their masks.
    open_to = np.ones((3, len(t.beds)), dtype=bool)
    open_to[1] = t.clusters.women_residents[t.beds.cluster] == 0
    open_to[2] = t.clusters.men_residents[t.beds.cluster] == 0
    kind = np.where(t.referrals.is_man, 1, np.where(t.referrals.is_woman, 2, 0))
    return open_to[kind]


@pair_rule("Person poses a risk to women; women live in this unit.", family_number=2)
def no_risk_to_women_beside_women_residents(referral: Referral, place: Place) -> bool:
    """A person flagged as a risk to women never shares a unit with women
    (000_6536288ccc9992c8.txt: safety of women and domestic abuse survivors)."""
    if Flag.risk_to_women not in referral.flags:
        return True
    if place.unit.gender_policy is GenderPolicy.women_only:
        return False
    return not any(r.gender is Gender.woman for r in place.unit_residents)


@no_risk_to_women_beside_women_residents.vectorised
def _(t: Tables) -> np.ndarray:
    women_there = (t.units.women_residents > 0) | t.units.women_only
    return ~t.referrals.flags[Flag.risk_to_women][:, None] | ~women_there[None, :]


@pair_rule("A resident of this unit poses a risk to women.", family_number=2)
def women_kept_from_residents_posing_risk(referral: Referral, place: Place) -> bool:
    """Women never share a unit with a resident flagged as a risk to women
    (000_6536288ccc9992c8.txt: safety of women and domestic abuse survivors)."""
    if referral.gender is not Gender.woman:
        return True
    return not any(Flag.risk_to_women in r.flags for r in place.unit_residents)


@women_kept_from_residents_posing_risk.vectorised
def _(t: Tables) -> np.ndarray:
    return ~t.referrals.is_woman[:, None] | (t.units.risk_to_women_residents == 0)[None, :]


@pair_rule("Person is a domestic abuse perpetrator; unit is a refuge.", family_number=2)
def no_perpetrator_in_refuge(referral: Referral, place: Place) -> bool:
    """A domestic abuse perpetrator never goes to a refuge (000_6536288ccc9992c8.txt: refuges)."""
    return Flag.da_perpetrator not in referral.flags or place.unit.kind is not UnitKind.refuge


@no_perpetrator_in_refuge.vectorised
def _(t: Tables) -> np.ndarray:
    return (
        ~t.referrals.flags[Flag.da_perpetrator][:, None]
        | ~t.units.is_kind(UnitKind.refuge)[None, :]
    )


@pair_rule("Person poses a risk to children; unit houses families.", family_number=2)
def no_risk_to_children_in_family_units(referral: Referral, place: Place) -> bool:
    """A person flagged as a risk to children never goes to a family unit
    (001_f0b97a0675c2ab20.txt: customer groups in separate premises)."""
    return Flag.risk_to_children not in referral.flags or place.unit.kind is not UnitKind.family


@no_risk_to_children_in_family_units.vectorised
def _(t: Tables) -> np.ndarray:
    return (
        ~t.referrals.flags[Flag.risk_to_children][:, None]
        | ~t.units.is_kind(UnitKind.family)[None, :]
    )
