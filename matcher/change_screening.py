"""What a portfolio change would place, by priority band, re-solving with the change made.

The baseline is the greedy allocation. A change only relaxes rules, so the baseline stays
valid under it, and `placed_with_change` re-solves by letting greedy add to the baseline
without moving anyone: every band places at least as many as before.

Screening hundreds of changes cannot afford a full problem each, so `screen` solves a smaller
problem that the change can only affect: the units of the change's area (a DA rule reads a
whole area), the people already placed there turned into residents (their team's caseload
taken), and the people still waiting. Nothing outside the area moves, so only the waiting can
gain, and only there; the women-only reserve is tightened so that what remains open to the
waiting is never more than the whole problem leaves. Its counts are therefore a lower bound
on what `placed_with_change` finds.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from matcher.backends.classes import Assignment3, Instance, build_instance
from matcher.backends.greedy import greedy_placements
from matcher.model import GenderPolicy, Problem, Referral, Resident
from matcher.portfolio_changes import ChangeKind, PortfolioChange, apply_change

BANDS = (5, 4, 3, 2, 1)


def by_band(problem: Problem, placements: list[Assignment3]) -> dict[str, int]:
    """Placements counted per priority band, highest first, every band present."""
    counted = Counter(problem.referrals[r].priority for r, _, _ in placements)
    return {str(band): counted.get(band, 0) for band in BANDS}


@dataclass(frozen=True)
class Baseline:
    """The greedy allocation of the unchanged problem, and what screening reuses of it."""

    problem: Problem
    inst: Instance
    placements: list[Assignment3]
    placed_by_priority: dict[str, int]
    as_residents: dict[str, Resident]  # bed-space id -> the person placed there
    waiting: list[Referral]
    team_load: Counter[str]
    # Women-only bed-spaces still open to people the reserve holds back (below 0: none).
    reserve_left: int

    @classmethod
    def build(cls, problem: Problem) -> Baseline:
        inst = build_instance(problem)
        placements = greedy_placements(inst)
        t = inst.tables
        placed = {r for r, _, _ in placements}
        waiting_ids = {ref.id for i, ref in enumerate(problem.referrals) if i not in placed}
        # Placed people become residents, who carry no keep_apart list of their own: the
        # waiting person carries both directions.
        apart_from: dict[str, list[str]] = {}
        for r in placed:
            for other in problem.referrals[r].keep_apart:
                apart_from.setdefault(other, []).append(problem.referrals[r].id)
        waiting = [
            ref.model_copy(
                update={
                    "keep_together": [p for p in ref.keep_together if p in waiting_ids],
                    "keep_apart": list(
                        dict.fromkeys([*ref.keep_apart, *apart_from.get(ref.id, [])])
                    ),
                }
            )
            for ref in problem.referrals
            if ref.id in waiting_ids
        ]
        as_residents = {}
        team_load: Counter[str] = Counter()
        held_back = 0
        for r, b, team in placements:
            ref = problem.referrals[r]
            as_residents[t.beds.ids[b]] = Resident(
                id=ref.id,
                bedspace=t.beds.ids[b],
                gender=ref.gender,
                age=ref.age,
                risk=ref.risk,
                flags=list(ref.flags),
                support_hours=ref.support_hours,
                arrived=problem.as_of,
            )
            if team is not None:
                team_load[t.teams.ids[team]] += 1
            if t.units.women_only[t.beds.unit[b]] and not inst.coupling.reserve_exempt[r]:
                held_back += 1
        return cls(
            problem=problem,
            inst=inst,
            placements=placements,
            placed_by_priority=by_band(problem, placements),
            as_residents=as_residents,
            waiting=waiting,
            team_load=team_load,
            reserve_left=inst.coupling.reserve_room - held_back,
        )

    def gain(self, placed_by_priority: dict[str, int]) -> dict[str, int]:
        return {
            band: placed_by_priority[band] - self.placed_by_priority[band]
            for band in placed_by_priority
        }


def placed_with_change(
    baseline: Baseline, change: PortfolioChange
) -> tuple[Problem, list[Assignment3]]:
    """The changed problem and its allocation: the baseline plus whoever greedy can add."""
    changed = apply_change(baseline.problem, change)
    inst = build_instance(changed)
    return changed, greedy_placements(inst, start=baseline.placements)


def screen(baseline: Baseline, change: PortfolioChange) -> dict[str, int]:
    """Placed per band with the change, counted on the change's area only (a lower bound on
    `placed_with_change`)."""
    small, added = area_additions(baseline, change)
    gained = by_band(small, added)
    return {band: baseline.placed_by_priority[band] + gained[band] for band in gained}


def area_additions(
    baseline: Baseline, change: PortfolioChange
) -> tuple[Problem, list[Assignment3]]:
    """The change's area as a problem of its own (see the module docstring), and the people
    greedy places there; indices are the small problem's."""
    small = _area_problem(baseline, apply_change(baseline.problem, change), change)
    return small, greedy_placements(build_instance(small))


def _area_problem(baseline: Baseline, changed: Problem, change: PortfolioChange) -> Problem:
    units = [u for u in changed.units if u.area == change.area]
    kept = {u.id for u in units}
    beds = [b for b in changed.bedspaces if b.unit in kept]
    bed_ids = {b.id for b in beds}
    residents = [
        r for r in changed.residents if r.bedspace in bed_ids and changed.resident_is_present(r)
    ]
    residents += [p for bed, p in baseline.as_residents.items() if bed in bed_ids]
    teams = [
        t.model_copy(update={"current_caseload": t.current_caseload + baseline.team_load[t.id]})
        for t in changed.support_teams
        if t.area == change.area
    ]
    occupied = {r.bedspace for r in residents}
    women_only = {u.id for u in units if u.gender_policy is GenderPolicy.women_only}
    free_women_only = sum(
        1
        for b in beds
        if b.unit in women_only
        and b.id not in occupied
        and (b.available_from is None or b.available_from <= changed.as_of)
    )
    reserve_left = baseline.reserve_left + (change.kind is ChangeKind.women_only_bedspace)
    reserve = max(0, free_women_only - max(0, reserve_left))
    return changed.model_copy(
        update={
            "units": units,
            "bedspaces": beds,
            "residents": residents,
            "support_teams": teams,
            "referrals": baseline.waiting,
            "policy": changed.policy.model_copy(update={"women_only_reserve": reserve}),
        }
    )
