"""What a hard rule on several people is: a `CoupledRule` and the views its consumers pass.

A `CoupledRule` is named by its checker (`violations(placed)` over a solution's `Placed`
view), and carries the reason that keeps a person out, its DESIGN.md family, its pair forms,
and what the ranking (`Group`, `Arrival`) and the backends (`Rows`) ask of it. The rules
themselves are in `constraints.coupled`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from constraints.rule import PairRule, Place
from constraints.tables import Tables
from matcher.model import (
    Assignment,
    Problem,
    Referral,
    SupportPlacement,
    SupportTeam,
    Unit,
)


class Violation(BaseModel):
    rule: str
    message: str
    referrals: list[str] = []
    bedspace: str | None = None


@dataclass(frozen=True)
class Placed:
    """A solution's assignments in plain Python, grouped the ways the coupled rules count."""

    problem: Problem
    assignments: list[Assignment]
    referrals: dict[str, Referral]
    places: dict[str, Place]  # the assigned bed-spaces
    teams: dict[str, SupportTeam]
    # False when checking residents as if just placed: they hold their own bed-spaces and
    # came before any reserve.
    reserve_applies: bool
    unit_of: dict[str, Unit] = field(default_factory=dict)  # bed-space -> unit
    in_unit: dict[str, list[Referral]] = field(default_factory=dict)
    in_cluster: dict[tuple[str, str], list[Referral]] = field(default_factory=dict)
    area_of: dict[str, str] = field(default_factory=dict)  # referral -> area
    place_in_unit: dict[str, Place] = field(default_factory=dict)  # one place per unit
    # Support teams alone, in people's own homes: the team rules count these too.
    support_placements: list[SupportPlacement] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        problem: Problem,
        assignments: list[Assignment],
        places: dict[str, Place],
        reserve_applies: bool,
        support_placements: list[SupportPlacement] | None = None,
    ) -> Placed:
        referrals = {r.id: r for r in problem.referrals}
        in_unit: dict[str, list[Referral]] = defaultdict(list)
        in_cluster: dict[tuple[str, str], list[Referral]] = defaultdict(list)
        area_of: dict[str, str] = {}
        for a in assignments:
            place = places[a.bedspace]
            in_unit[place.unit.id].append(referrals[a.referral])
            key = (place.unit.id, place.bed.cluster or f"#{place.bed.id}")
            in_cluster[key].append(referrals[a.referral])
            area_of[a.referral] = place.unit.area
        # Support at home keeps the person in their home area: the rules on who may be
        # placed in one area together count them there.
        for s in support_placements or ():
            home = referrals[s.referral].home_area
            if home is not None:
                area_of.setdefault(s.referral, home)
        return cls(
            problem=problem,
            assignments=assignments,
            referrals=referrals,
            places=places,
            teams={t.id: t for t in problem.support_teams},
            reserve_applies=reserve_applies,
            unit_of={bed_id: place.unit for bed_id, place in places.items()},
            in_unit=in_unit,
            in_cluster=in_cluster,
            area_of=area_of,
            place_in_unit={place.unit.id: place for place in places.values()},
            support_placements=list(support_placements or ()),
        )

    def team_cases(self) -> dict[str, list[str]]:
        """The newcomers each team takes on: placements in bed-spaces and support alone."""
        cases: dict[str, list[str]] = defaultdict(list)
        for a in self.assignments:
            if a.support_team is not None:
                cases[a.support_team].append(a.referral)
        for s in self.support_placements:
            cases[s.support_team].append(s.referral)
        return cases


@dataclass(frozen=True)
class Group:
    """People who move in together (keep_together), weighed against several units at once."""

    tables: Tables
    members: list[int]  # referral indices, ascending
    units: np.ndarray  # unit indices
    reserve_room: int  # women-only bed-spaces open to people the reserve does not exempt
    reserve_exempt: np.ndarray  # (R,)
    keep_apart: Mapping[int, set[int]]  # referral -> referrals kept apart from it


@dataclass(frozen=True)
class GroupProblem:
    """Why the group cannot live in some of the units: `failing` per unit of `Group.units`,
    or everywhere alike; `says(u)` is the sentence for unit u."""

    rule: str
    says: Callable[[int], str]
    failing: np.ndarray | None = None  # None: fails in every unit alike
    # The order the problems read in: those failing everywhere first, then the others.
    order: tuple[int, ...] = ()


@dataclass(frozen=True)
class Arrival:
    """Newcomers about to move into one unit, and people still waiting who might then lose
    it: the ranking's question of what a placement costs the others."""

    tables: Tables
    unit: int
    newcomers: list[int]  # referral indices
    waiting: np.ndarray  # referral indices
    keep_apart: Mapping[int, set[int]]  # referral -> referrals kept apart from it


Rows = dict[str, Any]


@dataclass(eq=False)  # a rule is itself: compared and hashed by identity
class CoupledRule:
    check: Callable[[Placed], Iterable[Violation]]
    reason: str
    family_number: int
    pair_forms: tuple[PairRule, ...] = ()
    on_totals: bool = False  # the checker counts the pair forms on all newcomers' totals
    phrases: Mapping[str, str] = field(default_factory=dict)
    rows: Callable[[Tables], Rows] | None = None
    group_problems: Callable[[Group], list[GroupProblem]] | None = None
    shuts_unit: Callable[[Arrival], np.ndarray | None] | None = None

    @property
    def name(self) -> str:
        return self.check.__name__

    @property
    def doc(self) -> str:
        return (self.check.__doc__ or "").strip()

    def violations(self, placed: Placed) -> Iterable[Violation]:
        return self.check(placed)

    def say(self, phrase: str, **values: Any) -> str:
        """One of the rule's other sentences (`phrases`), filled in."""
        return self.phrases[phrase].format(**values)

    def backend_rows(self, fn: Callable[[Tables], Rows]) -> Callable[[Tables], Rows]:
        """Register what the backends read of this rule."""
        self.rows = fn
        return fn

    def ranking(
        self, fn: Callable[[Group], list[GroupProblem]]
    ) -> Callable[[Group], list[GroupProblem]]:
        """Register the ranking's check of a group against units."""
        self.group_problems = fn
        return fn

    def shut_out(
        self, fn: Callable[[Arrival], np.ndarray | None]
    ) -> Callable[[Arrival], np.ndarray | None]:
        """Register which of the waiting an arrival shuts out of its whole unit (a bool per
        `Arrival.waiting`; None for nobody)."""
        self.shuts_unit = fn
        return fn


def coupled_rule(
    reason: str,
    *,
    family_number: int,
    pair_forms: tuple[PairRule, ...] = (),
    on_totals: bool = False,
    phrases: Mapping[str, str] | None = None,
) -> Callable[[Callable[[Placed], Iterable[Violation]]], CoupledRule]:
    """Declare a rule on several people by its checker, with the reason that keeps a person
    out and the number of its family in DESIGN.md's list of hard rules."""

    def wrap(check: Callable[[Placed], Iterable[Violation]]) -> CoupledRule:
        return CoupledRule(
            check=check,
            reason=reason,
            family_number=family_number,
            pair_forms=pair_forms,
            on_totals=on_totals,
            phrases=dict(phrases or {}),
        )

    return wrap


def everywhere(sentence: str) -> Callable[[int], str]:
    """The same sentence for every unit."""
    return lambda _unit: sentence


def join(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
