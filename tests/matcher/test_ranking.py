"""Ranking one referral: exactly the checker-accepted placements, scored as the batch model
scores them, and every other unit excluded for exactly the rules that fail."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from constraints import BEDSPACE_RULES, RULES_BY_NAME, UNIT_RULES
from constraints.checker import check
from constraints.coupling import team_may_serve_mask
from constraints.rule import Place, build_places
from constraints.scores import score
from constraints.tables import build_tables
from fixtures import generate, load_fixture
from matcher.errors import PlacementRefused, ProblemInvalid, ReferralNotFound
from matcher.explain import TermExplainer
from matcher.model import Assignment, Problem, Solution, Staffing
from matcher.ranking import build_context, override, rank
from matcher.ranking.teams import teams_that_may_serve
from tests.constraints.rule_cases import case
from tests.constraints.test_rules_bite import CASES
from tests.strategies import problems

# --- oracles in plain Python -----------------------------------------------------------


def _group_of(problem: Problem, referral_id: str) -> list[str]:
    """The referral and everyone linked to it by keep_together, either way round."""
    links: dict[str, set[str]] = {r.id: set() for r in problem.referrals}
    for r in problem.referrals:
        for other in r.keep_together:
            links[r.id].add(other)
            links[other].add(r.id)
    group, todo = {referral_id}, [referral_id]
    while todo:
        for other in links[todo.pop()] - group:
            group.add(other)
            todo.append(other)
    return sorted(group)


def _team_choices(problem: Problem, unit_id: str) -> list[str | None]:
    unit = next(u for u in problem.units if u.id == unit_id)
    if unit.staffing is not Staffing.visiting:
        return [None]  # a team only adds rules where none is needed
    return [t.id for t in problem.support_teams]


def _accepted_beds(problem: Problem, referral_id: str) -> set[str]:
    """Bed-spaces where the checker accepts this referral (with its group, if any, in the
    same unit) and nobody else: tried exhaustively over bed-spaces and teams."""
    group = _group_of(problem, referral_id)
    partners = [m for m in group if m != referral_id]
    unit_of = {b.id: b.unit for b in problem.bedspaces}
    accepted = set()
    for bed in problem.bedspaces:
        same_unit = [b.id for b in problem.bedspaces if b.unit == bed.unit and b.id != bed.id]
        teams = _team_choices(problem, unit_of[bed.id])
        found = False
        for partner_beds in itertools.permutations(same_unit, len(partners)):
            for chosen_teams in itertools.product(teams, repeat=len(group)):
                people = [referral_id, *partners]
                beds = [bed.id, *partner_beds]
                solution = Solution(
                    assignments=[
                        Assignment(referral=p, bedspace=b, support_team=t)
                        for p, b, t in zip(people, beds, chosen_teams, strict=True)
                    ]
                )
                if not check(problem, solution):
                    found = True
                    break
            if found:
                break
        if found:
            accepted.add(bed.id)
    return accepted


def _plain_rules_failed(problem: Problem, referral_id: str, unit_id: str) -> set[str]:
    """Every pair rule failing for this referral on any bed-space of the unit, evaluated
    one place at a time in plain Python."""
    referral = next(r for r in problem.referrals if r.id == referral_id)
    places: list[Place] = [p for p in build_places(problem) if p.unit.id == unit_id]
    return {
        rule.name
        for rule in (*UNIT_RULES, *BEDSPACE_RULES)
        for place in places
        if not rule(referral, place)
    }


def _small_group(problem: Problem, referral_id: str) -> bool:
    return len(_group_of(problem, referral_id)) <= 2


# --- properties ------------------------------------------------------------------------


@settings(max_examples=25)
@given(problem=problems(max_referrals=4, max_beds=6, max_units=3), data=st.data())
def test_ranking_holds_exactly_the_checker_accepted_bedspaces(
    problem: Problem, data: st.DataObject
) -> None:
    referral = data.draw(st.sampled_from([r.id for r in problem.referrals]))
    if not _small_group(problem, referral):
        return  # the exhaustive oracle is for singles and couples
    result = rank(build_context(problem), referral)
    assert {p.bedspace for p in result.ranked} == _accepted_beds(problem, referral)
    # And each listed placement, with its partners and teams, passes the checker as given.
    for placement in result.ranked:
        assignments = [
            Assignment(
                referral=referral, bedspace=placement.bedspace, support_team=placement.support_team
            ),
            *(
                Assignment(referral=p.referral, bedspace=p.bedspace, support_team=p.support_team)
                for p in placement.partners
            ),
        ]
        assert check(problem, Solution(assignments=assignments)) == []


@settings(max_examples=30)
@given(problem=problems(max_referrals=4, max_beds=8, max_units=4), data=st.data())
def test_excluded_units_carry_exactly_the_rules_that_fail(
    problem: Problem, data: st.DataObject
) -> None:
    referral = data.draw(st.sampled_from([r.id for r in problem.referrals]))
    result = rank(build_context(problem), referral)
    ranked_units = {p.unit for p in result.ranked}
    excluded = {e["unit"]: e for e in result.excluded}
    assert ranked_units.isdisjoint(excluded)
    assert ranked_units | set(excluded) == {u.id for u in problem.units}
    for unit in problem.units:
        if unit.id in ranked_units:
            continue
        entry = excluded[unit.id]
        expected = _plain_rules_failed(problem, referral, unit.id)
        has_beds = any(b.unit == unit.id for b in problem.bedspaces)
        rules = set(entry["rules"]) - {"keep_together_same_unit_or_neither"}
        rules -= {  # the group's shared limits, named by the checker's totals rules
            "high_risk_within_unit_limit",
            "support_hours_within_capacity",
            "risk_to_women_never_with_women",
            "keep_apart_never_in_same_unit",
        }
        if len(_group_of(problem, referral)) > 1 and "women_only_reserve_held" not in expected:
            # The reserve's room is shared too: a group may need more of it than one
            # person does (two women, one women-only bed-space beyond the reserve).
            rules.discard("women_only_reserve_held")
        if has_beds:
            assert rules == expected
        else:
            assert "Unit has no bed-spaces." in entry["reasons"]
        assert entry["reasons"], f"{unit.id} is excluded without a reason"
        for name in rules:
            if RULES_BY_NAME[name] in UNIT_RULES:
                assert RULES_BY_NAME[name].reason in entry["reasons"]


@settings(max_examples=30)
@given(problem=problems(max_referrals=5, max_beds=8), data=st.data())
def test_ranks_follow_scores_equal_to_the_batch_model(
    problem: Problem, data: st.DataObject
) -> None:
    referral = data.draw(st.sampled_from([r.id for r in problem.referrals]))
    result = rank(build_context(problem), referral)
    scores = score(build_tables(problem))
    r = [x.id for x in problem.referrals].index(referral)
    unit_index = {u.id: i for i, u in enumerate(problem.units)}
    points = [p.score for p in result.ranked]
    assert points == sorted(points, reverse=True)
    for placement in result.ranked:
        u = unit_index[placement.unit]
        assert placement.score == scores.total()[r, u]
        assert placement.terms == scores.pair_terms(r, u)
        assert placement.rank == 1 + sum(1 for x in points if x > placement.score)
        # A sentence for every term that scores; a term that cannot apply says nothing, and
        # travel from a preferred area to itself is said with the preferred area.
        referral_areas = problem.referrals[r].preferred_areas
        folded = {"travel"} if problem.units[u].area in referral_areas else set()
        scoring = sum(1 for t, points in placement.terms.items() if points and t not in folded)
        assert scoring <= len(placement.reasons) <= len(placement.terms)


# --- one test per rule family ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_excludes_with_its_own_reason(name: str) -> None:
    """The biting case of each pair rule: B1 is not offered, and the rule is named with its
    reason, on the excluded unit or (bed-space rules) on the unit's other bed-spaces."""
    bites, _ = CASES[name]
    problem = case(**bites)
    result = rank(build_context(problem), "R1")
    assert "B1" not in {p.bedspace for p in result.ranked}
    rule = RULES_BY_NAME[name]
    excluded = {e["unit"]: e for e in result.excluded}
    if "U1" in excluded:
        assert name in excluded["U1"]["rules"]
        if rule in UNIT_RULES:
            assert rule.reason in excluded["U1"]["reasons"]
        # Residents of the case fill bed-spaces or clusters too, which is named as well.
        assert set(excluded["U1"]["rules"]) == _plain_rules_failed(problem, "R1", "U1")
    else:
        # A resident in the unit also fills a bed-space, so "not free" may be named too.
        summary = next(u for u in result.units if u["unit"] == "U1")
        assert name in summary["other_bedspace_rules"]
        assert set(summary["other_bedspace_rules"]) <= {name, "bedspace_free_on_date"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_closest_allowed_placement_is_ranked(name: str) -> None:
    _, allowed = CASES[name]
    result = rank(build_context(case(**allowed)), "R1")
    assert "B1" in {p.bedspace for p in result.ranked}


def test_residents_count_in_coupled_rules() -> None:
    """A high-risk referral is excluded where residents already fill the high-risk places."""
    problem = case(
        unit={"max_high_risk_residents": 1},
        referral={"risk": "high"},
        residents=[{"id": "P1", "bedspace": "B3", "gender": "man", "age": 40, "risk": "high"}],
    )
    entry = next(e for e in rank(build_context(problem), "R1").excluded if e["unit"] == "U1")
    assert list(entry["rules"]) == ["high_risk_room_left", "bedspace_free_on_date"]
    assert list(entry["reasons"]) == [
        RULES_BY_NAME["high_risk_room_left"].reason,
        "1 of 3 bed-spaces: not free on the placement date.",
    ]


# --- women-only reserve and emergencies -------------------------------------------------


def test_emergency_da_referral_may_take_reserved_women_only_beds() -> None:
    policy = {"women_only_reserve": 3}
    other = {
        "id": "R2",
        "referred": "2026-10-01",
        "age": 30,
        "gender": "woman",
        "priority": 4,
        "flags": ["da_victim"],
    }
    problem = case(
        unit={"gender_policy": "women_only"},
        referral={"gender": "woman", "priority": 5, "flags": ["da_victim"]},
        extra_referrals=[other],
        policy=policy,
    )
    context = build_context(problem)
    urgent = rank(context, "R1")
    assert urgent.emergency_da
    assert {"B1", "B2", "B3"} <= {p.bedspace for p in urgent.ranked}
    routine = rank(context, "R2")
    assert not routine.emergency_da
    entry = next(e for e in routine.excluded if e["unit"] == "U1")
    assert list(entry["rules"]) == ["women_only_reserve_held"]


# --- what a choice costs others --------------------------------------------------------


def _contest(residents: list[dict[str, object]] | None = None) -> Problem:
    """R1 may take U1 or S1; R2 (more urgent) only U1; R3 (less urgent) only S1."""
    return case(
        referral={"priority": 3, "age": 30},
        residents=residents,
        extra_referrals=[
            # Only U1 fits R2 (U2 is in an area they must never be placed in).
            {
                "id": "R2",
                "referred": "2026-10-01",
                "age": 30,
                "gender": "man",
                "priority": 4,
                "excluded_areas": ["south"],
            },
            {
                "id": "R3",
                "referred": "2026-10-01",
                "age": 30,
                "gender": "man",
                "priority": 1,
                "excluded_areas": ["north"],
            },
        ],
    )


def test_cost_names_more_urgent_people_who_lose_their_best_or_only_option() -> None:
    # Leave one free bed-space in U1, so taking it would leave R2 with nothing.
    problem = _contest(
        residents=[
            {"id": "P1", "bedspace": "B2", "gender": "man", "age": 40},
            {"id": "P2", "bedspace": "B3", "gender": "man", "age": 40},
        ]
    )
    result = rank(build_context(problem), "R1")
    by_bed = {p.bedspace: p for p in result.ranked}
    assert set(by_bed) == {"B1", "S1"}
    b1, s1 = by_bed["B1"].cost_to_others, by_bed["S1"].cost_to_others
    assert b1 is not None and s1 is not None
    assert [(a.referral, a.loses) for a in b1.affected] == [("R2", "only")]
    # R3 loses S1, but R3 is less urgent than R1, so it is not named.
    assert s1.affected == ()


def test_cost_counts_a_shared_limit_not_just_the_bedspace() -> None:
    """Taking U1's last high-risk place costs another high-risk referral the whole unit."""
    problem = case(
        unit={"max_high_risk_residents": 1},
        referral={"risk": "high", "priority": 2},
        extra_referrals=[
            {
                "id": "R2",
                "referred": "2026-10-01",
                "age": 30,
                "gender": "man",
                "risk": "high",
                "priority": 3,
                "excluded_areas": ["south"],
            }
        ],
    )
    placement = next(p for p in rank(build_context(problem), "R1").ranked if p.bedspace == "B1")
    assert placement.cost_to_others is not None
    assert [(a.referral, a.loses) for a in placement.cost_to_others.affected] == [("R2", "only")]


def test_batch_solution_says_whether_the_optimum_places_elsewhere() -> None:
    problem = _contest()
    batch = Solution(assignments=[Assignment(referral="R1", bedspace="S1")])
    result = rank(build_context(problem, batch), "R1")
    assert result.batch_placement == "S1"
    elsewhere = {p.unit: p.batch_places_elsewhere for p in result.ranked}
    assert elsewhere == {"U1": True, "U2": False}


# --- override --------------------------------------------------------------------------


def test_override_of_an_excluded_placement_is_refused_with_the_rules_reason() -> None:
    bites, _ = CASES["women_only_units_take_only_women"]
    context = build_context(case(**bites))
    with pytest.raises(PlacementRefused) as refused:
        override(context, "R1", "B1", reason="the coordinator insists")
    reason = RULES_BY_NAME["women_only_units_take_only_women"].reason
    assert refused.value.reasons == [reason]
    assert refused.value.rules == ["women_only_units_take_only_women"]
    assert reason in str(refused.value)


def test_override_accepts_an_eligible_non_top_placement_and_keeps_the_reason() -> None:
    problem = case(referral={"preferred_areas": ["north"]})
    context = build_context(problem)
    ranking = rank(context, "R1")
    assert ranking.ranked[0].unit == "U1"
    decision = override(context, "R1", "S1", reason="  near her sister  ")
    assert decision.reason == "near her sister"
    assert decision.bedspace == "S1" and decision.unit == "U2"
    assert decision.rank > 1 and decision.score < decision.top_score
    assert check(problem, Solution(assignments=decision.assignments)) == []


def test_override_needs_a_reason_and_known_ids() -> None:
    context = build_context(case())
    with pytest.raises(ProblemInvalid, match="reason"):
        override(context, "R1", "B1", reason="   ")
    with pytest.raises(ProblemInvalid, match="NOPE"):
        override(context, "R1", "NOPE", reason="why not")
    with pytest.raises(ReferralNotFound, match="R99"):
        override(context, "R99", "B1", reason="why not")


# --- bad input -------------------------------------------------------------------------


def test_unknown_referral_is_named() -> None:
    with pytest.raises(ReferralNotFound, match="'R99'"):
        rank(build_context(case()), "R99")


@pytest.mark.parametrize("top", [0, -1])
def test_top_below_one_is_refused(top: int) -> None:
    with pytest.raises(ProblemInvalid, match="top"):
        rank(build_context(case()), "R1", top=top)


def test_top_keeps_the_best_placements_and_every_unit_summary() -> None:
    context = build_context(case())
    full = rank(context, "R1")
    short = rank(context, "R1", top=1)
    assert [p.bedspace for p in short.ranked] == [full.ranked[0].bedspace]
    assert short.excluded == full.excluded
    # Every eligible unit is still summarised; the term-by-term wording only for those shown.
    assert [u["unit"] for u in short.units] == [u["unit"] for u in full.units]
    assert [u["points_behind"] for u in short.units] == [u["points_behind"] for u in full.units]
    assert all(u["points_behind"] >= 0 for u in full.units)
    assert all(u["behind_top"] for u in full.units if u["points_behind"] > 0)


def test_couples_are_ranked_only_where_both_fit_on_generated_portfolios() -> None:
    """On portfolios with many couples: exactly the bed-spaces where the checker accepts the
    couple placed together, and a couple ranked somewhere in at least one instance."""
    placed_somewhere = 0
    for seed in range(4):
        problem = generate(seed, 30, 24, stress="couples")
        context = build_context(problem)
        for referral in problem.referrals:
            if len(_group_of(problem, referral.id)) != 2:
                continue
            ranked = rank(context, referral.id).ranked
            assert {p.bedspace for p in ranked} == _accepted_beds(problem, referral.id)
            assert all(len(p.partners) == 1 for p in ranked)
            placed_somewhere += bool(ranked)
    assert placed_somewhere


def test_override_for_a_couple_places_both_or_is_refused() -> None:
    problem = load_fixture("keep_together_couple")
    context = build_context(problem)
    decision = override(context, "R00001", "B00001", reason="they asked for Eden House")
    assert [a.referral for a in decision.assignments] == ["R00001", "R00002"]
    assert check(problem, Solution(assignments=decision.assignments)) == []
    lone = next(b.id for b in problem.bedspaces if b.unit == "U0002")
    with pytest.raises(PlacementRefused) as refused:
        override(context, "R00001", lone, reason="only bed nearby")
    assert refused.value.rules == ["keep_together_same_unit_or_neither"]


@settings(max_examples=30)
@given(problem=problems(max_referrals=4, max_beds=6, max_units=3))
def test_support_teams_offered_are_those_the_coupling_rule_allows(problem: Problem) -> None:
    """The ranking's per-referral team lookup agrees with `team_may_serve_mask`, and a team
    it names for a placement has room."""
    context = build_context(problem)
    tables = context.tables
    for u in range(len(tables.units)):
        mask = team_may_serve_mask(tables, u)
        for r in range(len(tables.referrals)):
            assert teams_that_may_serve(context, r, u).tolist() == np.flatnonzero(mask[r]).tolist()
    for referral in problem.referrals:
        for placement in rank(context, referral.id).ranked:
            if placement.support_team is not None:
                team = tables.teams.index[placement.support_team]
                assert tables.teams.room[team] > 0


def test_the_reserve_is_shared_by_a_group_kept_together() -> None:
    """Two women kept together, one women-only bed-space beyond the reserve: each alone could
    take it, the pair cannot, and the ranking says the reserve is why."""
    from matcher.model import parse_problem

    def problem(reserve: int) -> Problem:
        return parse_problem(
            {
                "as_of": "2026-11-23",
                "areas": [{"id": "A0", "name": "Area 0"}],
                "units": [
                    {
                        "id": "U1",
                        "area": "A0",
                        "kind": "adult_mixed",
                        "gender_policy": "women_only",
                        "support_hours_capacity": 40.0,
                    }
                ],
                "bedspaces": [{"id": "B1", "unit": "U1"}, {"id": "B2", "unit": "U1"}],
                "support_teams": [
                    {"id": "T0", "kind": "navigator", "area": "A0", "caseload_capacity": 10}
                ],
                "referrals": [
                    {"id": "R0", "referred": "2026-11-01", "age": 30, "gender": "woman"},
                    {
                        "id": "R1",
                        "referred": "2026-11-01",
                        "age": 30,
                        "gender": "woman",
                        "keep_together": ["R0"],
                    },
                ],
                "policy": {"women_only_reserve": reserve},
            }
        )

    held = problem(reserve=1)
    assert _plain_rules_failed(held, "R1", "U1") == set()  # alone, room for one
    excluded = {e["unit"]: e for e in rank(build_context(held), "R1").excluded}
    assert "women_only_reserve_held" in excluded["U1"]["rules"]
    assert {p.unit for p in rank(build_context(problem(reserve=0)), "R1").ranked} == {"U1"}


@settings(max_examples=40)
@given(problem=problems(max_referrals=5, max_beds=8))
def test_a_term_that_cannot_apply_scores_nothing_and_says_nothing(problem: Problem) -> None:
    """Each reason a coordinator reads is about this person: no "female worker" line for a
    man, no travel line where no area was preferred, and a term left unsaid scores 0."""
    tables = build_tables(problem)
    scores = score(tables)
    explainer = TermExplainer.build(tables, scores)
    for r, referral in enumerate(problem.referrals):
        for u in range(len(problem.units)):
            said = explainer.sentences(r, u)
            in_preferred = problem.units[u].area in referral.preferred_areas
            for term, points in scores.pair_terms(r, u).items():
                if term == "travel" and in_preferred:  # "in a preferred area, so no travel"
                    assert "travel" not in said and "no travel" in said["preferred_area"]
                    continue
                assert term in said or points == 0, (term, points)
            if referral.gender.value != "woman":
                assert "female_worker" not in said
            if not referral.preferred_areas:
                assert "travel" not in said and "preferred_area" not in said
