"""The hard rules that tie several people together: what each consumer asks of them.

A pair rule settles one newcomer against one place and the residents already there. A coupled
rule is about newcomers together: shared capacities (high-risk places, support hours, team
caseloads, the women-only reserve), who may share a cluster or a unit (gender, risk to women,
keep-apart), who may share an area (DA victims and perpetrators kept apart) and who moves in
together. Each is a `CoupledRule` with its DESIGN.md family, the reason a coordinator reads,
and one answer per consumer:

- `violations(placed)`: the checker's question, which placements of a solution break it,
  counted afresh in plain Python over the solution;
- `group_problems(group)`: the ranking's question, would placing these people together in
  these units break it, given who is placed;
- `reason`: the unplaced explanation's answer, this is what keeps the person out;
- `rows(tables)`: the backends' question, the data their constraints are built from (the
  fields of `constraints.coupling.Coupling`).

A rule on shared capacity also has a pair form (`pair_forms`): the newcomer alone against the
residents, which the masks read. The checker counts such a rule on the totals of all newcomers
instead (`on_totals`), which is stricter; taking the rule out of the registry takes both.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from constraints import gender as gender_rules
from constraints import location, relationships, reserve, risk, staffing
from constraints.coupled_rule import (
    Arrival,
    Group,
    GroupProblem,
    Placed,
    Rows,
    Violation,
    coupled_rule,
    everywhere,
    join,
)
from constraints.tables import Tables
from matcher.model import (
    Flag,
    Gender,
    GenderPolicy,
    Problem,
    Referral,
    Staffing,
)


def _pairs_kept_apart(people: list[Referral]) -> set[tuple[str, str]]:
    """Pairs among these people that either of them asks to be kept apart from."""
    ids = {p.id for p in people}
    return {
        (min(p.id, other), max(p.id, other))
        for p in people
        for other in p.keep_apart
        if other in ids
    }


# --- family 1: one person per bed-space -------------------------------------------------


@coupled_rule("the referral is placed more than once", family_number=1)
def each_referral_placed_once(placed: Placed) -> Iterable[Violation]:
    """A referral takes at most one bed-space (DESIGN.md hard rule 1)."""
    count: dict[str, int] = defaultdict(int)
    for a in placed.assignments:
        count[a.referral] += 1
    for s in placed.support_placements:
        count[s.referral] += 1
    for referral_id, n in count.items():
        if n > 1:
            yield Violation(
                rule=each_referral_placed_once.name,
                message=f"{referral_id} is placed {n} times.",
                referrals=[referral_id],
            )


@coupled_rule("the bed-space is given to someone else", family_number=1)
def one_person_per_bedspace(placed: Placed) -> Iterable[Violation]:
    """A bed-space holds one person (DESIGN.md hard rule 1)."""
    by_bed: dict[str, list[str]] = defaultdict(list)
    for a in placed.assignments:
        by_bed[a.bedspace].append(a.referral)
    for bed_id, sharing in by_bed.items():
        if len(sharing) > 1:
            yield Violation(
                rule=one_person_per_bedspace.name,
                message=f"Bed-space {bed_id} is given to {len(sharing)} people: "
                f"{', '.join(sharing)}.",
                referrals=sharing,
                bedspace=bed_id,
            )


# --- family 2: gender safety ------------------------------------------------------------


@coupled_rule(
    "the shared cluster now holds people of another gender",
    family_number=2,
    pair_forms=(gender_rules.cluster_gender_consistent_with_residents,),
)
def cluster_never_mixed_gender(placed: Placed) -> Iterable[Violation]:
    """Bed-spaces sharing a kitchen and bathroom never hold both men and women newcomers
    (002_dcd69be417dc9cc0.txt: women's needs met safely)."""
    for (unit_id, cluster), people in placed.in_cluster.items():
        genders = {p.gender for p in people}
        if Gender.man in genders and Gender.woman in genders:
            yield Violation(
                rule=cluster_never_mixed_gender.name,
                message=f"Cluster {cluster} of unit {unit_id} would hold both men and women.",
                referrals=[p.id for p in people if p.gender is not Gender.non_binary],
            )


@cluster_never_mixed_gender.backend_rows
def _(t: Tables) -> Rows:
    mixed_unit = ~t.units.women_only & ~t.units.men_only
    settled = (t.clusters.women_residents > 0) | (t.clusters.men_residents > 0)
    return {"open_gender_clusters": np.flatnonzero(mixed_unit[t.clusters.unit] & ~settled)}


@coupled_rule(
    "a risk-to-women rule: the unit would hold a woman and a person who poses a risk to women",
    family_number=2,
    pair_forms=(
        gender_rules.no_risk_to_women_beside_women_residents,
        gender_rules.women_kept_from_residents_posing_risk,
    ),
)
def risk_to_women_never_with_women(placed: Placed) -> Iterable[Violation]:
    """A person flagged as a risk to women never shares a unit with a woman newcomer
    (000_6536288ccc9992c8.txt: safety of women and domestic abuse survivors)."""
    for unit_id, people in placed.in_unit.items():
        for person in people:
            if Flag.risk_to_women in person.flags:
                women = [p.id for p in people if p.gender is Gender.woman and p.id != person.id]
                if women:
                    yield Violation(
                        rule=risk_to_women_never_with_women.name,
                        message=f"{person.id} poses a risk to women and would share unit "
                        f"{unit_id} with {', '.join(women)}.",
                        referrals=[person.id, *women],
                    )


@risk_to_women_never_with_women.backend_rows
def _(t: Tables) -> Rows:
    return {"risk_to_women": t.referrals.flags[Flag.risk_to_women]}


@risk_to_women_never_with_women.ranking
def _(group: Group) -> list[GroupProblem]:
    refs, ids = group.tables.referrals, group.tables.referrals.ids
    found = []
    for a in group.members:
        if refs.flags[Flag.risk_to_women][a]:
            women = [ids[b] for b in group.members if b != a and refs.is_woman[b]]
            if women:
                sentence = f"{ids[a]} poses a risk to women and would live with {join(women)}."
                found.append(
                    GroupProblem(
                        risk_to_women_never_with_women.name,
                        everywhere(sentence),
                        order=(a, 0),
                    )
                )
    return found


@risk_to_women_never_with_women.shut_out
def _(arrival: Arrival) -> np.ndarray | None:
    refs, flagged = arrival.tables.referrals, arrival.tables.referrals.flags[Flag.risk_to_women]
    shut = None
    if any(flagged[m] for m in arrival.newcomers):
        shut = refs.is_woman[arrival.waiting]
    if any(refs.is_woman[m] for m in arrival.newcomers):
        shut = flagged[arrival.waiting] if shut is None else shut | flagged[arrival.waiting]
    return shut


# --- family 4: risk -------------------------------------------------------------------


@coupled_rule(
    "the unit has no room left for another high-risk person",
    family_number=4,
    pair_forms=(risk.high_risk_room_left,),
    on_totals=True,
)
def high_risk_within_unit_limit(placed: Placed) -> Iterable[Violation]:
    """High and very-high risk people per unit stay within its limit, residents and all
    newcomers counted (001_f0b97a0675c2ab20.txt: cover appropriate to the needs)."""
    for unit_id, people in placed.in_unit.items():
        unit = placed.place_in_unit[unit_id].unit
        residents = placed.place_in_unit[unit_id].unit_residents
        high = [p.id for p in people if p.risk.is_high]
        resident_high = sum(1 for r in residents if r.risk.is_high)
        if high and resident_high + len(high) > unit.max_high_risk_residents:
            yield Violation(
                rule=high_risk_within_unit_limit.name,
                message=f"Unit {unit_id} would hold {resident_high + len(high)} high-risk "
                f"people; its limit is {unit.max_high_risk_residents}.",
                referrals=high,
            )


@high_risk_within_unit_limit.backend_rows
def _(t: Tables) -> Rows:
    return {"high_risk_room": t.units.high_risk_room}


@high_risk_within_unit_limit.ranking
def _(group: Group) -> list[GroupProblem]:
    cols = group.tables.units
    high = int(group.tables.referrals.is_high_risk[group.members].sum())
    if not high:
        return []
    return [
        GroupProblem(
            high_risk_within_unit_limit.name,
            lambda u: (
                f"Together they are {high} high-risk people; the unit can take "
                f"{int(cols.high_risk_room[u])} more."
            ),
            failing=cols.high_risk_room[group.units] < high,
            order=(0,),
        )
    ]


@high_risk_within_unit_limit.shut_out
def _(arrival: Arrival) -> np.ndarray | None:
    refs = arrival.tables.referrals
    high = sum(1 for m in arrival.newcomers if refs.is_high_risk[m])
    if high and arrival.tables.units.high_risk_room[arrival.unit] - high <= 0:
        return refs.is_high_risk[arrival.waiting]
    return None


# --- family 5: staffing and support ---------------------------------------------------


@coupled_rule(
    "the unit has too few support hours left",
    family_number=5,
    pair_forms=(staffing.support_hours_room_left,),
    on_totals=True,
)
def support_hours_within_capacity(placed: Placed) -> Iterable[Violation]:
    """Support hours of residents and all newcomers stay within the unit's capacity; where
    residents already exceed it, newcomers bring none (001_f0b97a0675c2ab20.txt: levels of
    cover)."""
    for unit_id, people in placed.in_unit.items():
        unit = placed.place_in_unit[unit_id].unit
        residents = placed.place_in_unit[unit_id].unit_residents
        hours = sum(p.support_hours for p in people)
        room = max(0.0, unit.support_hours_capacity - sum(r.support_hours for r in residents))
        if hours > room + staffing.HOURS_TOLERANCE:
            yield Violation(
                rule=support_hours_within_capacity.name,
                message=f"Newcomers to unit {unit_id} need {hours:g} support hours; "
                f"{room:g} are left.",
                referrals=[p.id for p in people if p.support_hours > 0],
            )


@support_hours_within_capacity.backend_rows
def _(t: Tables) -> Rows:
    return {"support_hours_room": t.units.support_hours_room}


@support_hours_within_capacity.ranking
def _(group: Group) -> list[GroupProblem]:
    cols = group.tables.units
    hours = float(group.tables.referrals.support_hours[group.members].sum())
    return [
        GroupProblem(
            support_hours_within_capacity.name,
            lambda u: (
                f"Together they need {hours:g} support hours; the unit has "
                f"{float(cols.support_hours_room[u]):g} left."
            ),
            failing=hours > cols.support_hours_room[group.units] + staffing.HOURS_TOLERANCE,
            order=(1,),
        )
    ]


@support_hours_within_capacity.shut_out
def _(arrival: Arrival) -> np.ndarray | None:
    hours = arrival.tables.referrals.support_hours
    needed = (
        float(hours[arrival.newcomers[0]])
        if len(arrival.newcomers) == 1
        else float(hours[arrival.newcomers].sum())
    )
    if needed <= 0:
        return None
    left = float(arrival.tables.units.support_hours_room[arrival.unit]) - needed
    return hours[arrival.waiting] > left + staffing.HOURS_TOLERANCE


@coupled_rule(
    "no support team in the area can take this person",
    family_number=5,
    pair_forms=(staffing.support_team_available,),
    on_totals=True,
)
def support_team_required(placed: Placed) -> Iterable[Violation]:
    """A placement in a visiting-support unit gets a support team
    (004_a7a7d18c3a44ee66.txt: Complex Lives caseloads)."""
    for a in placed.assignments:
        unit = placed.unit_of[a.bedspace]
        if a.support_team is None and unit.staffing is Staffing.visiting:
            yield Violation(
                rule=support_team_required.name,
                message=f"{a.referral} is placed in visiting-support unit {unit.id} "
                "without a support team.",
                referrals=[a.referral],
                bedspace=a.bedspace,
            )


@coupled_rule(
    "no support team in the area may serve this person",
    family_number=5,
    phrases={
        "checker": "Team {team} cannot serve {referral} in unit {unit}: it must work in the "
        "unit's area, be intensive for Housing First, and have a female worker where one is "
        "wanted.",
        "override": "Team {team} cannot serve this person here: it must work in the unit's "
        "area, be intensive for Housing First, and have a female worker where one is wanted.",
        "at_home": "Team {team} cannot support {referral} at home: {why}.",
    },
)
def support_team_fits(placed: Placed) -> Iterable[Violation]:
    """An assigned team works in the unit's area, is intensive where Housing First is
    involved, and has a female worker where one is wanted (003_a67c211e5b94c3ff.txt:
    Housing First; 002_dcd69be417dc9cc0.txt: access to female workers)."""
    for a in placed.assignments:
        if a.support_team is None:
            continue
        referral, unit = placed.referrals[a.referral], placed.unit_of[a.bedspace]
        if not staffing.team_may_serve(referral, unit, placed.teams[a.support_team]):
            yield Violation(
                rule=support_team_fits.name,
                message=support_team_fits.say(
                    "checker", team=a.support_team, referral=referral.id, unit=unit.id
                ),
                referrals=[referral.id],
                bedspace=a.bedspace,
            )
    for s in placed.support_placements:
        referral = placed.referrals[s.referral]
        team = placed.teams[s.support_team]
        if not staffing.team_may_serve_in(referral, referral.home_area, team):
            yield Violation(
                rule=support_team_fits.name,
                message=support_team_fits.say(
                    "at_home",
                    team=team.id,
                    referral=referral.id,
                    why="; ".join(staffing.why_team_may_not_support_at_home(referral, team)),
                ),
                referrals=[referral.id],
            )


@coupled_rule(
    "support team caseloads in the area are full",
    family_number=5,
    phrases={"override": "Team {team} has no room left in its caseload."},
)
def team_caseload_within_capacity(placed: Placed) -> Iterable[Violation]:
    """A team's caseload stays within capacity, current cases and newcomers counted
    (000_6536288ccc9992c8.txt and 004_a7a7d18c3a44ee66.txt: caseloads of 5-7 and 15-20)."""
    for team_id, cases in placed.team_cases().items():
        team = placed.teams[team_id]
        if team.current_caseload + len(cases) > team.caseload_capacity:
            yield Violation(
                rule=team_caseload_within_capacity.name,
                message=f"Team {team_id} would carry {team.current_caseload + len(cases)} "
                f"cases; its capacity is {team.caseload_capacity}.",
                referrals=cases,
            )


@team_caseload_within_capacity.backend_rows
def _(t: Tables) -> Rows:
    return {"team_room": t.teams.room}


@coupled_rule(
    "the support team has too few hours left for support at home",
    family_number=5,
    phrases={"hours_left": "{left:g} hours a week left for support at home."},
)
def team_support_hours_within_capacity(placed: Placed) -> Iterable[Violation]:
    """The hours a team gives people in their own homes, those it already supports and those
    newly given support alone, stay within its capacity for that (002_dcd69be417dc9cc0.txt:
    floating support that follows the person, not the building)."""
    newcomers: dict[str, list[Referral]] = defaultdict(list)
    for s in placed.support_placements:
        newcomers[s.support_team].append(placed.referrals[s.referral])
    for team_id, people in newcomers.items():
        left = team_hours_left(placed.problem, team_id)
        hours = sum(p.support_hours for p in people)
        if hours > left + staffing.HOURS_TOLERANCE:
            yield Violation(
                rule=team_support_hours_within_capacity.name,
                message=f"Support at home from team {team_id} would need {hours:g} hours a "
                f"week; {left:g} are left.",
                referrals=[p.id for p in people if p.support_hours > 0],
            )


def team_hours_left(problem: Problem, team_id: str) -> float:
    """Weekly hours a team has left for support at home (never below 0; unlimited where the
    team states no capacity)."""
    team = next(t for t in problem.support_teams if t.id == team_id)
    if team.support_hours_capacity is None:
        return float("inf")
    used = sum(p.support_hours for p in problem.community_support if p.support_team == team_id)
    return max(0.0, team.support_hours_capacity - used)


# --- families 6 and 7: location and relationships -------------------------------------


@coupled_rule(
    "a domestic abuse victim or perpetrator they are kept apart from is placed in the area",
    family_number=6,
    pair_forms=(location.da_kept_apart_from_resident_area,),
)
def da_victim_and_perpetrator_never_in_same_area(placed: Placed) -> Iterable[Violation]:
    """A DA victim and a perpetrator kept apart from each other are never placed in the same
    area (000_6536288ccc9992c8.txt: domestic abuse services and safety)."""
    area_of, referrals = placed.area_of, placed.referrals
    for first, second in sorted(_pairs_kept_apart([referrals[r] for r in area_of])):
        if area_of[first] == area_of[second] and location.da_opposed(
            referrals[first].flags, referrals[second].flags
        ):
            yield Violation(
                rule=da_victim_and_perpetrator_never_in_same_area.name,
                message=f"{first} and {second} (domestic abuse, kept apart) are both placed in "
                f"area {area_of[first]}.",
                referrals=[first, second],
            )


@da_victim_and_perpetrator_never_in_same_area.backend_rows
def _(t: Tables) -> Rows:
    referrals = t.problem.referrals
    pairs = {
        (min(i, j), max(i, j))
        for i, j in _referral_pairs_kept_apart(t)
        if location.da_opposed(referrals[i].flags, referrals[j].flags)
    }
    return {"da_apart_pairs": sorted(pairs)}


def _referral_pairs_kept_apart(t: Tables) -> set[tuple[int, int]]:
    """Referral index pairs (i < j) kept apart; residents are settled by the pair rules."""
    pairs: set[tuple[int, int]] = set()
    for i, referral in enumerate(t.problem.referrals):
        for other in referral.keep_apart:
            j = t.referrals.index.get(other)
            if j is not None:
                pairs.add((min(i, j), max(i, j)))
    return pairs


@coupled_rule(
    "someone this person is kept apart from is placed in the unit",
    family_number=7,
    pair_forms=(relationships.kept_apart_from_residents,),
)
def keep_apart_never_in_same_unit(placed: Placed) -> Iterable[Violation]:
    """People named in keep_apart are never placed in the same unit
    (002_dcd69be417dc9cc0.txt: matching looks at the building's residents)."""
    for unit_id, people in placed.in_unit.items():
        for pair in sorted(_pairs_kept_apart(people)):
            yield Violation(
                rule=keep_apart_never_in_same_unit.name,
                message=f"{pair[0]} and {pair[1]} must be kept apart; both are placed in unit "
                f"{unit_id}.",
                referrals=list(pair),
            )


@keep_apart_never_in_same_unit.backend_rows
def _(t: Tables) -> Rows:
    return {"keep_apart_pairs": sorted(_referral_pairs_kept_apart(t))}


@keep_apart_never_in_same_unit.ranking
def _(group: Group) -> list[GroupProblem]:
    ids = group.tables.referrals.ids
    found = []
    for a in group.members:
        for b in sorted(group.keep_apart.get(a, ())):
            if a < b and b in group.members:
                sentence = f"{ids[a]} and {ids[b]} must be kept apart."
                found.append(
                    GroupProblem(
                        keep_apart_never_in_same_unit.name,
                        everywhere(sentence),
                        order=(a, 1, b),
                    )
                )
    return found


@keep_apart_never_in_same_unit.shut_out
def _(arrival: Arrival) -> np.ndarray | None:
    shut = None
    for m in arrival.newcomers:
        for other in arrival.keep_apart.get(m, ()):
            here = arrival.waiting == other
            shut = here if shut is None else shut | here
    return shut


@coupled_rule(
    "must move in together with the people named; they could not all be placed in one unit",
    family_number=7,
    phrases={
        "no_common_place": "must move in together with {partners}; no unit has a place that "
        "passes the hard rules for all of them",
        "not_all_placed": "must move in together with {partners}; they could not all be "
        "placed in one unit",
        "no_arrangement": "No arrangement of bed-spaces and support teams here fits everyone "
        "moving in together (a shared kitchen would hold men and women, or team caseloads "
        "are full).",
        "no_arrangement_override": "No arrangement here fits everyone moving in together.",
        "partner_shut_out": "Moves in with {partner}, who cannot live here: {reasons}",
        "too_few_beds": "Too few free bed-spaces here for the {people} people moving in together.",
        "explain_blocking": "Moves in with partners; the whole group cannot be placed here "
        "together.",
        "ranking_note": "Moves in with {partners}: only units where everyone fits together "
        "are listed, each with the partners' bed-spaces.",
    },
)
def keep_together_same_unit_or_neither(placed: Placed) -> Iterable[Violation]:
    """People who move in together (keep_together) go into one unit, or none of them is placed
    (001_f0b97a0675c2ab20.txt: single homeless people and couples)."""
    unit_of_referral = {a.referral: placed.unit_of[a.bedspace].id for a in placed.assignments}
    couples = {
        tuple(sorted((person.id, partner)))
        for person in placed.problem.referrals
        for partner in person.keep_together
    }
    for first, second in sorted(couples):
        mine, theirs = unit_of_referral.get(first), unit_of_referral.get(second)
        if mine != theirs:
            where = "different units" if mine and theirs else "one is placed and the other is not"
            yield Violation(
                rule=keep_together_same_unit_or_neither.name,
                message=f"{first} and {second} move in together; {where}.",
                referrals=[first, second],
            )


@keep_together_same_unit_or_neither.backend_rows
def _(t: Tables) -> Rows:
    # keep_together links are symmetric in meaning, so take connected components.
    index = t.referrals.index
    parent = list(range(len(t.referrals)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, referral in enumerate(t.problem.referrals):
        for other in referral.keep_together:
            parent[find(i)] = find(index[other])
    groups: dict[int, list[int]] = {}
    for i in range(len(t.referrals)):
        groups.setdefault(find(i), []).append(i)
    return {"keep_together_groups": [g for g in groups.values() if len(g) > 1]}


@keep_together_same_unit_or_neither.ranking
def _(group: Group) -> list[GroupProblem]:
    people = len(group.members)
    sentence = keep_together_same_unit_or_neither.say("too_few_beds", people=people)
    return [
        GroupProblem(
            keep_together_same_unit_or_neither.name,
            everywhere(sentence),
            failing=group.tables.units.free_beds[group.units] < people,
            order=(3,),
        )
    ]


# --- family 9: the women-only reserve -------------------------------------------------


@coupled_rule(
    "the women-only reserve is held for priority-5 domestic abuse victims",
    family_number=9,
    pair_forms=(reserve.women_only_reserve_held,),
    on_totals=True,
    phrases={
        "ranking_note": "Priority-5 domestic abuse referral: answered at once, without a batch "
        "run; women-only bed-spaces held in reserve are open to this person."
    },
)
def women_only_reserve_held(placed: Placed) -> Iterable[Violation]:
    """Referrals other than priority-5 DA victims take at most the free women-only bed-spaces
    less the reserve, all newcomers counted (000_6536288ccc9992c8.txt: high-risk DA response
    within 8 hours)."""
    if not placed.reserve_applies:
        return
    # Every place carries the reserve's room (the same for all); no places, no takers.
    places = placed.places
    room = next(iter(places.values())).women_only_reserve_room if places else 0
    takers = [
        a.referral
        for a in placed.assignments
        if placed.unit_of[a.bedspace].gender_policy is GenderPolicy.women_only
        and not reserve.reserve_exempt(placed.referrals[a.referral])
    ]
    if len(takers) > room:
        yield Violation(
            rule=women_only_reserve_held.name,
            message=f"{len(takers)} women-only bed-spaces go to people other than priority-5 "
            f"domestic abuse victims; the reserve allows {room}.",
            referrals=takers,
        )


@women_only_reserve_held.backend_rows
def _(t: Tables) -> Rows:
    women_only_bed = t.units.women_only[t.beds.unit] & t.beds.free
    return {
        "reserve_room": int(women_only_bed.sum()) - t.problem.policy.women_only_reserve,
    }


@women_only_reserve_held.ranking
def _(group: Group) -> list[GroupProblem]:
    takers = sum(1 for m in group.members if not group.reserve_exempt[m])
    open_women_only = max(0, group.reserve_room)
    return [
        GroupProblem(
            women_only_reserve_held.name,
            lambda _u: (
                f"Together they would take {takers} women-only bed-spaces; "
                f"{open_women_only} are open outside the reserve."
            ),
            failing=group.tables.units.women_only[group.units] & (takers > open_women_only),
            order=(2,),
        )
    ]
