"""What a hard rule between one referral and one place is, and the plain view of a place.

A `PairRule` is a named predicate `allows(referral, place) -> bool` written in plain Python,
which is the rule as a coordinator would read it and what the checker evaluates, plus a
vectorised twin over `Tables` that the masks use. Property tests hold the two equal.

`Place` is one bed-space seen with everything a pair rule may look at: its unit, who already
lives there, which support teams could serve it, how much of the women-only reserve is left.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from constraints.tables import Tables
from matcher.model import BedSpace, Problem, Referral, Resident, SupportTeam, Unit


class Scope(StrEnum):
    """Whether a rule looks only at the unit (evaluated per unit) or at the bed-space itself."""

    unit = "unit"
    bedspace = "bedspace"


@dataclass(frozen=True)
class Place:
    problem: Problem
    bed: BedSpace
    unit: Unit
    free: bool
    unit_residents: tuple[Resident, ...]
    cluster_residents: tuple[Resident, ...]
    area_residents: tuple[Resident, ...]
    teams_with_room: tuple[SupportTeam, ...]
    women_only_reserve_room: int  # free women-only bed-spaces open to anyone after the reserve


@dataclass(frozen=True)
class SupportPlace:
    """A support team alone, in the person's own home: what a rule that also governs
    support-only placements looks at."""

    problem: Problem
    area: str | None  # the person's home area
    team: SupportTeam


MaskFn = Callable[[Tables], np.ndarray]
SupportFn = Callable[[Referral, SupportPlace], bool]


@dataclass(eq=False)  # a rule is itself: compared and hashed by identity
class PairRule:
    allows: Callable[[Referral, Place], bool]
    reason: str
    scope: Scope
    family_number: int  # the hard-rule family of DESIGN.md, 1 to 9
    mask: MaskFn | None = field(default=None)
    # A bed-space rule's reason over a unit's bed-spaces: when all of them fail, and when
    # {k} of {n} do.
    every_bedspace: str = ""
    some_bedspaces: str = ""
    # The rule's form for a support-only placement, and the reason it gives there; None
    # where the rule is about a bed-space or a building only.
    support_form: SupportFn | None = None
    support_reason: str = ""

    def for_support_only(self, reason: str) -> Callable[[SupportFn], SupportFn]:
        """Register the rule's form for a support team alone in the person's home."""

        def wrap(fn: SupportFn) -> SupportFn:
            self.support_form = fn
            self.support_reason = reason
            return fn

        return wrap

    def over_bedspaces(self, failing: int, of: int) -> str:
        """The reason for a unit where `failing` of its `of` bed-spaces fail this rule."""
        if failing == of:
            return self.every_bedspace or self.reason
        return (self.some_bedspaces or "{k} of {n} bed-spaces: " + self.reason).format(
            k=failing, n=of
        )

    @property
    def name(self) -> str:
        return self.allows.__name__

    @property
    def family(self) -> str:
        return self.allows.__module__.rsplit(".", 1)[-1]

    @property
    def doc(self) -> str:
        return (self.allows.__doc__ or "").strip()

    def __call__(self, referral: Referral, place: Place) -> bool:
        return self.allows(referral, place)

    def vectorised(self, fn: MaskFn) -> MaskFn:
        """Register the numpy form: a bool array broadcastable to (R, U) or (R, B) by scope."""
        self.mask = fn
        return fn

    def small_mask(self, tables: Tables) -> np.ndarray:
        """The rule's mask in the smallest shape that broadcasts to (referrals, units) or
        (referrals, bed-spaces): (R, 1), (1, W) or (R, W)."""
        assert self.mask is not None, f"rule {self.name} has no vectorised form"
        mask = np.asarray(self.mask(tables), dtype=bool)
        return mask.reshape(1, -1) if mask.ndim == 1 else mask

    def evaluate(self, tables: Tables) -> np.ndarray:
        """The rule's mask, broadcast to (referrals, units) or (referrals, bed-spaces)."""
        assert self.mask is not None, f"rule {self.name} has no vectorised form"
        width = len(tables.units) if self.scope is Scope.unit else len(tables.beds)
        return np.broadcast_to(self.mask(tables), (len(tables.referrals), width))


def pair_rule(
    reason: str,
    scope: Scope = Scope.unit,
    *,
    family_number: int,
    every_bedspace: str = "",
    some_bedspaces: str = "",
) -> Callable[[Callable], PairRule]:
    """Declare a hard rule between a referral and a place, with the reason it excludes and
    the number of its family in DESIGN.md's list of hard rules; a bed-space rule may word its
    reason over a unit's bed-spaces too (`PairRule.over_bedspaces`)."""

    def wrap(allows: Callable[[Referral, Place], bool]) -> PairRule:
        return PairRule(
            allows=allows,
            reason=reason,
            scope=scope,
            family_number=family_number,
            every_bedspace=every_bedspace,
            some_bedspaces=some_bedspaces,
        )

    return wrap


def _free(problem: Problem, bed: BedSpace, occupied: Collection[str]) -> bool:
    """Nobody present stays in the bed-space and it is available on `as_of` (DESIGN.md)."""
    return (
        bed.available_from is None or bed.available_from <= problem.as_of
    ) and bed.id not in occupied


def build_places(problem: Problem, only: Collection[str] | None = None) -> list[Place]:
    """Every bed-space as a `Place`, in plain Python (the checker's and the oracle's view);
    with `only`, just the bed-spaces named there (their residents, teams and reserve are
    still read from the whole problem)."""
    units = {u.id: u for u in problem.units}
    beds = {b.id: b for b in problem.bedspaces}
    present = [r for r in problem.residents if problem.resident_is_present(r)]
    occupied = {r.bedspace for r in present}
    shown = [bed for bed in problem.bedspaces if only is None or bed.id in only]
    # Only the residents of the areas shown are grouped: one person placed among 10,000
    # bed-spaces need not index every resident of the city.
    areas = {units[bed.unit].area for bed in shown}

    def cluster_key(bed: BedSpace) -> tuple[str, str]:
        return (bed.unit, bed.cluster or f"#{bed.id}")

    by_unit: dict[str, list[Resident]] = {}
    by_cluster: dict[tuple[str, str], list[Resident]] = {}
    by_area: dict[str, list[Resident]] = {}
    for resident in present:
        bed = beds[resident.bedspace]
        area = units[bed.unit].area
        if area not in areas:
            continue
        by_unit.setdefault(bed.unit, []).append(resident)
        by_cluster.setdefault(cluster_key(bed), []).append(resident)
        by_area.setdefault(area, []).append(resident)

    women_only = {u.id for u in problem.units if u.gender_policy.value == "women_only"}
    free_women_only = sum(
        1 for bed in problem.bedspaces if bed.unit in women_only and _free(problem, bed, occupied)
    )
    reserve_room = max(0, free_women_only - problem.policy.women_only_reserve)
    teams_by_area: dict[str, list[SupportTeam]] = {}
    for team in problem.support_teams:
        if team.current_caseload < team.caseload_capacity and team.area in areas:
            teams_by_area.setdefault(team.area, []).append(team)

    return [
        Place(
            problem=problem,
            bed=bed,
            unit=units[bed.unit],
            free=_free(problem, bed, occupied),
            unit_residents=tuple(by_unit.get(bed.unit, ())),
            cluster_residents=tuple(by_cluster.get(cluster_key(bed), ())),
            area_residents=tuple(by_area.get(units[bed.unit].area, ())),
            teams_with_room=tuple(teams_by_area.get(units[bed.unit].area, ())),
            women_only_reserve_room=reserve_room,
        )
        for bed in shown
    ]
