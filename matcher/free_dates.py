"""When a bed-space that passes every rule for a person frees up, if nobody else takes it.

Moving the placement date forward only relaxes the pair rules: residents leave on their
`expected_leave` and never come back, bed-spaces open on `available_from` and stay open, and
the women-only bed-spaces outside the reserve only grow. So a pair allowed on some date is
allowed on every later one, in particular on a horizon after every known date; the bed-spaces
allowed there are the only candidates, and for each the first passing date is found by
bisecting the dates on which anything changes, with the plain predicates on a `Place` seen on
that date (the checker's view, not the masks).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import numpy as np

from constraints import PAIR_RULES, registry
from constraints.eligibility import eligibility
from constraints.rule import Place
from matcher.model import BedSpace, GenderPolicy, Problem, Referral, Resident, SupportTeam

NEVER = date.max


@dataclass
class FreeDates:
    """The dates a problem's places change on, and the residents each place would see."""

    problem: Problem
    horizon_allowed: np.ndarray  # (R, B) pair rules pass once everyone due to leave has left
    bed_free_on: list[date]  # first date each bed-space is free; NEVER if a resident stays on
    change_dates: list[date]  # as_of, then every later date a resident leaves or a bed opens
    women_only_free_on: list[date]  # sorted, women-only bed-spaces only
    unit_of_bed: list[int]
    cluster_of_bed: list[tuple[str, str]]
    by_unit: dict[int, list[Resident]]
    by_cluster: dict[tuple[str, str], list[Resident]]
    by_area: dict[str, list[Resident]]
    teams_by_area: dict[str, tuple[SupportTeam, ...]]
    _moved: dict[date, Problem] = field(default_factory=dict)

    @classmethod
    def build(cls, problem: Problem) -> FreeDates:
        units = {u.id: (k, u) for k, u in enumerate(problem.units)}
        beds = {b.id: b for b in problem.bedspaces}
        present = [r for r in problem.residents if problem.resident_is_present(r)]
        leaves: dict[str, date] = {}
        by_unit: dict[int, list[Resident]] = defaultdict(list)
        by_cluster: dict[tuple[str, str], list[Resident]] = defaultdict(list)
        by_area: dict[str, list[Resident]] = defaultdict(list)
        for resident in present:
            bed = beds[resident.bedspace]
            leave = resident.expected_leave or NEVER
            leaves[bed.id] = max(leaves.get(bed.id, problem.as_of), leave)
            u, unit = units[bed.unit]
            by_unit[u].append(resident)
            by_cluster[_cluster_key(bed)].append(resident)
            by_area[unit.area].append(resident)
        bed_free_on = [
            max(
                problem.as_of,
                bed.available_from or problem.as_of,
                leaves.get(bed.id, problem.as_of),
            )
            for bed in problem.bedspaces
        ]
        known = {d for d in bed_free_on if d != NEVER}
        known |= {r.expected_leave for r in present if r.expected_leave is not None}
        change_dates = sorted({problem.as_of, *known})
        last = change_dates[-1]
        horizon = problem.model_copy(
            update={"as_of": last + timedelta(days=1) if last < date.max else last}
        )
        women_only = {u.id for u in problem.units if u.gender_policy is GenderPolicy.women_only}
        teams_by_area: dict[str, list[SupportTeam]] = defaultdict(list)
        for team in problem.support_teams:
            if team.current_caseload < team.caseload_capacity:
                teams_by_area[team.area].append(team)
        return cls(
            problem=problem,
            horizon_allowed=eligibility(horizon).allowed,
            bed_free_on=bed_free_on,
            change_dates=change_dates,
            women_only_free_on=sorted(
                d
                for bed, d in zip(problem.bedspaces, bed_free_on, strict=True)
                if bed.unit in women_only and d != NEVER
            ),
            unit_of_bed=[units[bed.unit][0] for bed in problem.bedspaces],
            cluster_of_bed=[_cluster_key(bed) for bed in problem.bedspaces],
            by_unit=dict(by_unit),
            by_cluster=dict(by_cluster),
            by_area=dict(by_area),
            teams_by_area={area: tuple(teams) for area, teams in teams_by_area.items()},
        )

    def moved_to(self, day: date) -> Problem:
        """The problem with its placement date moved to `day`."""
        if day not in self._moved:
            self._moved[day] = self.problem.model_copy(update={"as_of": day})
        return self._moved[day]

    def place_on(self, bed: int, day: date) -> Place:
        """Bed-space `bed` as `constraints.rule.build_places` would see it on `day`, nobody
        else placed."""
        problem = self.problem
        bedspace = problem.bedspaces[bed]
        u = self.unit_of_bed[bed]
        unit = problem.units[u]

        def staying(residents: list[Resident]) -> tuple[Resident, ...]:
            return tuple(r for r in residents if r.expected_leave is None or r.expected_leave > day)

        open_women_only = bisect.bisect_right(self.women_only_free_on, day)
        return Place(
            problem=self.moved_to(day),
            bed=bedspace,
            unit=unit,
            free=self.bed_free_on[bed] <= day,
            unit_residents=staying(self.by_unit.get(u, [])),
            cluster_residents=staying(self.by_cluster.get(self.cluster_of_bed[bed], [])),
            area_residents=staying(self.by_area.get(unit.area, [])),
            teams_with_room=self.teams_by_area.get(unit.area, ()),
            women_only_reserve_room=max(0, open_women_only - problem.policy.women_only_reserve),
        )

    @cached_property
    def _row_of(self) -> dict[str, int]:
        return {referral.id: k for k, referral in enumerate(self.problem.referrals)}

    def passes_on(self, referral: Referral, bed: int, day: date) -> bool:
        place = self.place_on(bed, day)
        in_force = registry.pair_rules_in_force()
        return all(rule(referral, place) for rule in PAIR_RULES if rule in in_force)

    def earliest(self, referral_id: str) -> tuple[date, int] | None:
        """The first date a bed-space passing every pair rule for the referral is free, and
        one such bed-space; None if none ever is.

        By id, not by row: a ranking context carried over placements numbers its rows its
        own way (`matcher.ranking_update`)."""
        r = self._row_of[referral_id]
        candidates = np.flatnonzero(self.horizon_allowed[r])
        if candidates.size == 0:
            return None
        referral = self.problem.referrals[r]
        frees = [self.bed_free_on[b] for b in candidates.tolist()]
        order = sorted(range(len(frees)), key=lambda k: (frees[k], int(candidates[k])))
        best: tuple[date, int] | None = None
        # Bed-spaces of one cluster free on the same date see the same residents and rules.
        tried: set[tuple[tuple[str, str], date, bool]] = set()
        for k in order:
            bed, free_on = int(candidates[k]), frees[k]
            if best is not None and free_on >= best[0]:
                break
            key = (self.cluster_of_bed[bed], free_on, self.problem.bedspaces[bed].accessible)
            if key in tried:
                continue
            tried.add(key)
            first = self._first_passing(referral, bed, free_on, best)
            if first is not None:
                best = (first, bed)
        return best

    def _first_passing(
        self, referral: Referral, bed: int, free_on: date, best: tuple[date, int] | None
    ) -> date | None:
        """The first change date from `free_on` (and before the best so far) on which the bed
        passes; the rules only relax with time, so bisect."""
        dates = self.change_dates
        lo = bisect.bisect_left(dates, free_on)
        hi = len(dates) if best is None else bisect.bisect_left(dates, best[0])
        if lo >= hi or not self.passes_on(referral, bed, dates[hi - 1]):
            return None
        while lo < hi - 1:
            mid = (lo + hi - 1) // 2
            if self.passes_on(referral, bed, dates[mid]):
                hi = mid + 1
            else:
                lo = mid + 1
        return dates[lo]


def _cluster_key(bed: BedSpace) -> tuple[str, str]:
    return (bed.unit, bed.cluster or f"#{bed.id}")
