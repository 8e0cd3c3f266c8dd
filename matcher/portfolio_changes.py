"""Single changes to a bed portfolio, and which of them could place someone left unplaced.

A change is one of: one more women-only bed-space (in a women-only unit of an area), a unit's
support-hours capacity raised by N, a team's caseload capacity raised by N, a unit approved
for under-18s, a 24/7 unit approved for MAPPA. Every change only relaxes the hard rules, so
an allocation valid before it stays valid after it.

`candidate_changes` keeps the changes that could matter to someone a baseline allocation
leaves unplaced: a person whose only failing rules at a unit's unused free bed-space are the
ones the change lifts (or, for a shared capacity, none fail but they are still unplaced).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from pydantic import BaseModel

from constraints import UNIT_RULES, PairRule, age, reserve, risk, staffing
from constraints.staffing import HOURS_TOLERANCE, team_may_serve
from matcher.backends.classes import Assignment3, Instance
from matcher.model import BedSpace, GenderPolicy, Problem, Staffing


class ChangeKind(StrEnum):
    women_only_bedspace = "women_only_bedspace"
    support_hours = "support_hours"
    caseload = "caseload"
    under_18_approved = "under_18_approved"
    mappa_approved = "mappa_approved"


class PortfolioChange(BaseModel):
    kind: ChangeKind
    area: str
    unit: str | None = None
    team: str | None = None
    amount: int = 1  # bed-spaces, support hours or cases added; 1 for an approval

    def label(self) -> str:
        where = self.unit or self.team or ""
        return f"{self.kind.value}:{self.area}:{where}:{self.amount}"


def new_bedspace_id(problem: Problem, unit: str) -> str:
    taken = {bed.id for bed in problem.bedspaces}
    k = 1
    while f"{unit}-new-{k}" in taken:
        k += 1
    return f"{unit}-new-{k}"


def apply_change(problem: Problem, change: PortfolioChange) -> Problem:
    """The problem with the change made; everything else, including ids and order, kept."""
    kind = change.kind
    if kind is ChangeKind.caseload:
        teams = [
            t.model_copy(update={"caseload_capacity": t.caseload_capacity + change.amount})
            if t.id == change.team
            else t
            for t in problem.support_teams
        ]
        return problem.model_copy(update={"support_teams": teams})
    if kind is ChangeKind.women_only_bedspace:
        assert change.unit is not None
        bed = BedSpace(id=new_bedspace_id(problem, change.unit), unit=change.unit)
        return problem.model_copy(update={"bedspaces": [*problem.bedspaces, bed]})
    updates = {
        ChangeKind.support_hours: lambda u: {
            "support_hours_capacity": u.support_hours_capacity + change.amount
        },
        ChangeKind.under_18_approved: lambda u: {"under_18_approved": True},
        ChangeKind.mappa_approved: lambda u: {"mappa_approved": True},
    }[kind]
    units = [u.model_copy(update=updates(u)) if u.id == change.unit else u for u in problem.units]
    return problem.model_copy(update={"units": units})


def _unit_bit(rule: PairRule) -> int:
    return 1 << UNIT_RULES.index(rule)


@dataclass(frozen=True)
class _Waiting:
    """The people a baseline leaves unplaced, and what fails for them unit by unit."""

    people: np.ndarray  # referral indices
    unit_bits: np.ndarray  # (W, U) failing unit rules
    open_in_unit: np.ndarray  # (W, U) an unused free bed-space of the unit passes its rules

    def lifted_by(self, bits: int, unit: int, needs_failure: bool) -> np.ndarray:
        """Who fails nothing at the unit but the rules in `bits` (at least one of them, when
        `needs_failure`)."""
        column = self.unit_bits[:, unit]
        lifted = (column & ~np.uint32(bits)) == 0
        if needs_failure:
            lifted &= (column & np.uint32(bits)) != 0
        return lifted


def _waiting(inst: Instance, baseline: list[Assignment3]) -> _Waiting:
    t = inst.tables
    elig = inst.eligibility_with_reasons()
    placed = {r for r, _, _ in baseline}
    people = np.array([r for r in range(len(t.referrals)) if r not in placed], dtype=np.int64)
    used = np.zeros(len(t.beds), dtype=bool)
    used[[b for _, b, _ in baseline]] = True
    bed_open = (elig._need(elig.bed_failures)[people] == 0) & (t.beds.free & ~used)[None, :]
    open_in_unit = np.zeros((people.size, len(t.units)), dtype=bool)
    order = np.argsort(t.beds.unit, kind="stable")
    units, starts = np.unique(t.beds.unit[order], return_index=True)
    if people.size and units.size:
        open_in_unit[:, units] = np.logical_or.reduceat(bed_open[:, order], starts, axis=1)
    return _Waiting(people, elig._need(elig.unit_failures)[people], open_in_unit)


def candidate_changes(inst: Instance, baseline: list[Assignment3]) -> list[PortfolioChange]:
    """Every single change of the kinds above that could place someone `baseline` leaves
    unplaced, with the amounts worth trying (the smallest shortfall and the largest)."""
    t = inst.tables
    waiting = _waiting(inst, baseline)
    if waiting.people.size == 0:
        return []
    hours_used = np.zeros(len(t.units))
    team_used = np.zeros(len(t.teams), dtype=np.int64)
    for r, b, team in baseline:
        hours_used[t.beds.unit[b]] += t.referrals.support_hours[r]
        if team is not None:
            team_used[team] += 1
    changes: list[PortfolioChange] = []
    for u in range(len(t.units)):
        changes += _unit_changes(inst, waiting, u, float(hours_used[u]))
    return changes + _caseload_changes(inst, waiting, team_used)


def _unit_changes(
    inst: Instance, waiting: _Waiting, u: int, hours_used: float
) -> list[PortfolioChange]:
    t = inst.tables
    unit = t.problem.units[u]
    area, here = unit.area, waiting.open_in_unit[:, u]
    changes = []
    if unit.gender_policy is GenderPolicy.women_only:
        # A new bed-space is free, has no cluster and is not accessible.
        fits = waiting.lifted_by(_unit_bit(reserve.women_only_reserve_held), u, False)
        if (fits & ~t.referrals.needs_accessible[waiting.people]).any():
            changes.append(
                PortfolioChange(kind=ChangeKind.women_only_bedspace, area=area, unit=unit.id)
            )
    approvals = [(ChangeKind.under_18_approved, age.under_18s_only_where_approved)]
    if unit.staffing is Staffing.staffed_24_7:  # elsewhere approval alone lifts nothing
        approvals.append((ChangeKind.mappa_approved, risk.mappa_2_3_only_in_approved_24_7_units))
    for kind, rule in approvals:
        if (waiting.lifted_by(_unit_bit(rule), u, True) & here).any():
            changes.append(PortfolioChange(kind=kind, area=area, unit=unit.id))
    who = waiting.people[
        waiting.lifted_by(_unit_bit(staffing.support_hours_room_left), u, False) & here
    ]
    room = max(0.0, float(t.units.support_hours_room[u]) - hours_used)
    short = t.referrals.support_hours[who] - room
    short = short[short > HOURS_TOLERANCE]
    if short.size:
        for amount in sorted(
            {math.ceil(short.min() - HOURS_TOLERANCE), math.ceil(short.max() - HOURS_TOLERANCE)}
        ):
            changes.append(
                PortfolioChange(
                    kind=ChangeKind.support_hours, area=area, unit=unit.id, amount=amount
                )
            )
    return changes


def _caseload_changes(
    inst: Instance, waiting: _Waiting, team_used: np.ndarray
) -> list[PortfolioChange]:
    """A full team's caseload raised by one, and by as many as it could then take."""
    t = inst.tables
    problem = t.problem
    team_bit = _unit_bit(staffing.support_team_available)
    full = [k for k in range(len(t.teams)) if t.teams.room[k] - team_used[k] <= 0]
    helped: dict[int, set[int]] = {}
    for u, unit in enumerate(problem.units):
        if unit.staffing is not Staffing.visiting or not full:
            continue
        who = waiting.people[waiting.lifted_by(team_bit, u, False) & waiting.open_in_unit[:, u]]
        for k in full:
            team = problem.support_teams[k]
            for r in who.tolist():
                if team_may_serve(problem.referrals[r], unit, team):
                    helped.setdefault(k, set()).add(r)
    changes = []
    for k, people in sorted(helped.items()):
        team = problem.support_teams[k]
        for amount in sorted({1, len(people)}):
            changes.append(
                PortfolioChange(
                    kind=ChangeKind.caseload, area=team.area, team=team.id, amount=amount
                )
            )
    return changes
