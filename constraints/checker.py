"""The checker: every hard rule a solution breaks, all of them, in plain Python.

Written from the rules, not from any backend: pair rules are evaluated one assignment at a
time on `Place`s, and the rules that couple newcomers are counted afresh here. Tests use it
as the oracle for every backend, and `bedmatch check` exposes it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pydantic import BaseModel

from constraints import PAIR_RULES
from constraints.location import da_opposed
from constraints.reserve import reserve_exempt
from constraints.rule import build_places
from constraints.staffing import HOURS_TOLERANCE, team_may_serve
from matcher.errors import Issue, ProblemInvalid
from matcher.model import (
    Assignment,
    Flag,
    Gender,
    GenderPolicy,
    Problem,
    Referral,
    Resident,
    Solution,
    Staffing,
)

# Rules on shared capacity are checked on the totals of all newcomers below, which is
# stricter than each newcomer's pair check against the residents alone.
CHECKED_ON_TOTALS = {
    "high_risk_room_left",
    "support_hours_room_left",
    "support_team_available",
    "women_only_reserve_held",
}


class Violation(BaseModel):
    rule: str
    message: str
    referrals: list[str] = []
    bedspace: str | None = None


def check(problem: Problem, solution: Solution) -> list[Violation]:
    """Every hard rule the solution's assignments break (empty if none)."""
    _reject_unknown_ids(problem, solution.assignments)
    return list(_violations(problem, solution.assignments))


def resident_violations(problem: Problem) -> list[Violation]:
    """Every hard rule broken by the people already in place, checked as if just placed."""
    present = [r for r in problem.residents if problem.resident_is_present(r)]
    as_newcomers = problem.model_copy(
        update={"residents": [], "referrals": [_as_referral(problem, r) for r in present]}
    )
    placed = [Assignment(referral=r.id, bedspace=r.bedspace) for r in present]
    # Residents hold their own bed-space and came before any reserve or team assignment.
    not_for_residents = {
        "bedspace_free_on_date",
        "women_only_reserve_held",
        "support_team_available",
        "support_team_required",
    }
    return [
        v
        for v in _violations(as_newcomers, placed, free_beds=False)
        if v.rule not in not_for_residents
    ]


def _as_referral(problem: Problem, resident: Resident) -> Referral:
    return Referral(
        id=resident.id,
        referred=resident.arrived or problem.as_of,
        age=resident.age,
        gender=resident.gender,
        risk=resident.risk,
        flags=resident.flags,
        support_hours=resident.support_hours,
    )


def _reject_unknown_ids(problem: Problem, assignments: list[Assignment]) -> None:
    referrals = {r.id for r in problem.referrals}
    beds = {b.id for b in problem.bedspaces}
    teams = {t.id for t in problem.support_teams}
    issues = []
    for i, a in enumerate(assignments):
        if a.referral not in referrals:
            issues.append(
                Issue(("assignments", i, "referral"), f"unknown referral id {a.referral!r}")
            )
        if a.bedspace not in beds:
            issues.append(
                Issue(("assignments", i, "bedspace"), f"unknown bed-space id {a.bedspace!r}")
            )
        if a.support_team is not None and a.support_team not in teams:
            issues.append(
                Issue(
                    ("assignments", i, "support_team"),
                    f"unknown support team id {a.support_team!r}",
                )
            )
    if issues:
        raise ProblemInvalid(issues)


def _violations(
    problem: Problem, assignments: list[Assignment], free_beds: bool = True
) -> Iterable[Violation]:
    referrals = {r.id: r for r in problem.referrals}
    # Places only for the bed-spaces assigned: building one for every bed-space cost more
    # than the rules did when one person is placed among 10,000 bed-spaces.
    assigned = {a.bedspace for a in assignments}
    places = {place.bed.id: place for place in build_places(problem, only=assigned)}
    teams = {t.id: t for t in problem.support_teams}

    # One referral, one place; one bed-space, one person.
    by_referral: dict[str, list[Assignment]] = defaultdict(list)
    by_bed: dict[str, list[str]] = defaultdict(list)
    for a in assignments:
        by_referral[a.referral].append(a)
        by_bed[a.bedspace].append(a.referral)
    for referral_id, placed in by_referral.items():
        if len(placed) > 1:
            yield Violation(
                rule="each_referral_placed_once",
                message=f"{referral_id} is placed {len(placed)} times.",
                referrals=[referral_id],
            )
    for bed_id, sharing in by_bed.items():
        if len(sharing) > 1:
            yield Violation(
                rule="one_person_per_bedspace",
                message=f"Bed-space {bed_id} is given to {len(sharing)} people: "
                f"{', '.join(sharing)}.",
                referrals=sharing,
                bedspace=bed_id,
            )

    # Each newcomer against the place and the residents already there.
    for a in assignments:
        referral, place = referrals[a.referral], places[a.bedspace]
        for rule in PAIR_RULES:
            if rule.name not in CHECKED_ON_TOTALS and not rule(referral, place):
                yield Violation(
                    rule=rule.name,
                    message=f"{referral.id} in {place.bed.id}: {rule.reason}",
                    referrals=[referral.id],
                    bedspace=place.bed.id,
                )

    unit_of = {bed_id: place.unit for bed_id, place in places.items()}
    newcomers_in_unit: dict[str, list[Referral]] = defaultdict(list)
    newcomers_in_cluster: dict[tuple[str, str], list[Referral]] = defaultdict(list)
    area_of: dict[str, str] = {}
    for a in assignments:
        place = places[a.bedspace]
        newcomers_in_unit[place.unit.id].append(referrals[a.referral])
        cluster_key = (place.unit.id, place.bed.cluster or f"#{place.bed.id}")
        newcomers_in_cluster[cluster_key].append(referrals[a.referral])
        area_of[a.referral] = place.unit.area
    first_place_in_unit = {place.unit.id: place for place in places.values()}

    # A cluster never holds both men and women.
    for (unit_id, cluster), people in newcomers_in_cluster.items():
        genders = {p.gender for p in people}
        if Gender.man in genders and Gender.woman in genders:
            yield Violation(
                rule="cluster_never_mixed_gender",
                message=f"Cluster {cluster} of unit {unit_id} would hold both men and women.",
                referrals=[p.id for p in people if p.gender is not Gender.non_binary],
            )

    for unit_id, people in newcomers_in_unit.items():
        unit = first_place_in_unit[unit_id].unit
        residents = first_place_in_unit[unit_id].unit_residents

        # A person flagged risk_to_women never shares a unit with another woman.
        for person in people:
            if Flag.risk_to_women in person.flags:
                women = [p.id for p in people if p.gender is Gender.woman and p.id != person.id]
                if women:
                    yield Violation(
                        rule="risk_to_women_never_with_women",
                        message=f"{person.id} poses a risk to women and would share unit "
                        f"{unit_id} with {', '.join(women)}.",
                        referrals=[person.id, *women],
                    )

        # High-risk people per unit stay within its limit, residents counted.
        high = [p.id for p in people if p.risk.is_high]
        resident_high = sum(1 for r in residents if r.risk.is_high)
        if high and resident_high + len(high) > unit.max_high_risk_residents:
            yield Violation(
                rule="high_risk_within_unit_limit",
                message=f"Unit {unit_id} would hold {resident_high + len(high)} high-risk people; "
                f"its limit is {unit.max_high_risk_residents}.",
                referrals=high,
            )

        # Support hours within capacity; newcomers bring none where residents already exceed it.
        hours = sum(p.support_hours for p in people)
        room = max(0.0, unit.support_hours_capacity - sum(r.support_hours for r in residents))
        if hours > room + HOURS_TOLERANCE:
            yield Violation(
                rule="support_hours_within_capacity",
                message=f"Newcomers to unit {unit_id} need {hours:g} support hours; "
                f"{room:g} are left.",
                referrals=[p.id for p in people if p.support_hours > 0],
            )

        # Kept-apart people never share a unit.
        for pair in sorted(_kept_apart_pairs(people)):
            yield Violation(
                rule="keep_apart_never_in_same_unit",
                message=f"{pair[0]} and {pair[1]} must be kept apart; both are placed in unit "
                f"{unit_id}.",
                referrals=list(pair),
            )

    # A DA victim and a perpetrator kept apart never share an area.
    placed_people = [referrals[r] for r in area_of]
    for first, second in sorted(_kept_apart_pairs(placed_people)):
        if area_of[first] == area_of[second] and da_opposed(
            referrals[first].flags, referrals[second].flags
        ):
            yield Violation(
                rule="da_victim_and_perpetrator_never_in_same_area",
                message=f"{first} and {second} (domestic abuse, kept apart) are both placed in "
                f"area {area_of[first]}.",
                referrals=[first, second],
            )

    # Couples move in together, into one unit, or neither does.
    unit_of_referral = {a.referral: unit_of[a.bedspace].id for a in assignments}
    couples = {
        tuple(sorted((person.id, partner)))
        for person in problem.referrals
        for partner in person.keep_together
    }
    for first, second in sorted(couples):
        mine, theirs = unit_of_referral.get(first), unit_of_referral.get(second)
        if mine != theirs:
            where = "different units" if mine and theirs else "one is placed and the other is not"
            yield Violation(
                rule="keep_together_same_unit_or_neither",
                message=f"{first} and {second} move in together; {where}.",
                referrals=[first, second],
            )

    # Support teams: a visiting unit's placement gets one, it fits, and caseloads hold.
    team_load: dict[str, list[str]] = defaultdict(list)
    for a in assignments:
        referral, unit = referrals[a.referral], unit_of[a.bedspace]
        if a.support_team is None:
            if unit.staffing is Staffing.visiting:
                yield Violation(
                    rule="support_team_required",
                    message=f"{referral.id} is placed in visiting-support unit {unit.id} "
                    "without a support team.",
                    referrals=[referral.id],
                    bedspace=a.bedspace,
                )
            continue
        team = teams[a.support_team]
        team_load[team.id].append(referral.id)
        if not team_may_serve(referral, unit, team):
            yield Violation(
                rule="support_team_fits",
                message=f"Team {team.id} cannot serve {referral.id} in unit {unit.id}: it must "
                "work in the unit's area, be intensive for Housing First, and have a female "
                "worker where one is wanted.",
                referrals=[referral.id],
                bedspace=a.bedspace,
            )
    for team_id, cases in team_load.items():
        team = teams[team_id]
        if team.current_caseload + len(cases) > team.caseload_capacity:
            yield Violation(
                rule="team_caseload_within_capacity",
                message=f"Team {team_id} would carry {team.current_caseload + len(cases)} "
                f"cases; its capacity is {team.caseload_capacity}.",
                referrals=cases,
            )

    # Women-only reserve: only priority-5 DA victims may take the last N women-only beds.
    if free_beds:
        # Every place carries the reserve's room (the same for all); no places, no takers.
        room = next(iter(places.values())).women_only_reserve_room if places else 0
        takers = [
            a.referral
            for a in assignments
            if unit_of[a.bedspace].gender_policy is GenderPolicy.women_only
            and not reserve_exempt(referrals[a.referral])
        ]
        if len(takers) > room:
            yield Violation(
                rule="women_only_reserve_held",
                message=f"{len(takers)} women-only bed-spaces go to people other than priority-5 "
                f"domestic abuse victims; the reserve allows {room}.",
                referrals=takers,
            )


def _kept_apart_pairs(people: list[Referral]) -> set[tuple[str, str]]:
    """Pairs among these people that either of them asks to be kept apart from."""
    ids = {p.id for p in people}
    return {
        (min(p.id, other), max(p.id, other))
        for p in people
        for other in p.keep_apart
        if other in ids
    }
