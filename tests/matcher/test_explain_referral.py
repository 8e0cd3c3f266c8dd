"""`explain_referral` states facts the plain rules agree with, on random problems."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings

from constraints import PAIR_RULES
from constraints.rule import build_places
from fixtures.generator import generate
from matcher.explain_referral import (
    KEEP_TOGETHER_RULE,
    ExplainContext,
    ReferralExplanation,
    explain_referral,
)
from matcher.model import Problem, parse_problem
from matcher.solve import solve
from tests.strategies import problems


def failing_rules(problem: Problem, referral_id: str) -> dict[str, set[str]]:
    """Bed-space id -> names of the pair rules that fail, each predicate called on its own."""
    referral = next(r for r in problem.referrals if r.id == referral_id)
    return {
        place.bed.id: {rule.name for rule in PAIR_RULES if not rule(referral, place)}
        for place in build_places(problem)
    }


def explain_all(problem: Problem) -> list[ReferralExplanation]:
    context = ExplainContext.build(problem)
    return [explain_referral(context, r.id, nearest=50) for r in problem.referrals]


@settings(max_examples=30)
@given(problems())
def test_blocking_is_exactly_the_rules_that_fail(problem: Problem) -> None:
    for answer in explain_all(problem):
        failing = failing_rules(problem, answer.referral)
        for place in answer.nearest:
            named = {b.rule for b in place.blocking}
            for bed in place.bedspaces:
                if named == {KEEP_TOGETHER_RULE}:
                    assert failing[bed] == set(), (answer.referral, bed)
                else:
                    assert failing[bed] == named, (answer.referral, bed)
            families = {b.rule: b.family for b in place.blocking}
            for rule in PAIR_RULES:
                if rule.name in families:
                    assert families[rule.name] == rule.family_number


@settings(max_examples=30)
@given(problems())
def test_no_open_place_for_someone_the_ranking_cannot_place(problem: Problem) -> None:
    for answer in explain_all(problem):
        assert answer.placeable == (answer.ranking is not None)
        if answer.placeable:
            assert answer.nearest == []
            continue
        failing = failing_rules(problem, answer.referral)
        for place in answer.nearest:
            assert place.blocking, (answer.referral, place.unit)
        # The fewest: no bed-space is blocked by fewer rules than the first place shows; for
        # someone moving in with partners, a bed-space no pair rule blocks is blocked by the
        # group not fitting.
        grouped = any(
            answer.referral in r.keep_together or (r.id == answer.referral and r.keep_together)
            for r in problem.referrals
        )
        if answer.nearest:
            fewest = min(max(len(rules), int(grouped)) for rules in failing.values())
            assert len(answer.nearest[0].blocking) == fewest


@settings(max_examples=30)
@given(problems())
def test_earliest_bedspace_passes_every_rule_on_that_date(problem: Problem) -> None:
    context = ExplainContext.build(problem)
    dates = context.free_dates.change_dates
    for referral in problem.referrals:
        answer = explain_referral(context, referral.id)
        if answer.earliest is None:
            horizon = problem.model_copy(update={"as_of": dates[-1] + timedelta(days=1)})
            assert all(failing_rules(horizon, referral.id).values())
            continue
        moved = problem.model_copy(update={"as_of": answer.earliest.date})
        assert failing_rules(moved, referral.id)[answer.earliest.bedspace] == set()
        place = next(p for p in build_places(moved) if p.bed.id == answer.earliest.bedspace)
        assert place.unit.id == answer.earliest.unit
        # Nothing changes between change dates, so the date before it places nobody here.
        earlier = [d for d in dates if d < answer.earliest.date]
        if earlier:
            before = problem.model_copy(update={"as_of": earlier[-1]})
            assert all(failing_rules(before, referral.id).values())
        if answer.placeable:
            assert answer.earliest.date == problem.as_of


def test_capacity_rules_say_what_is_missing() -> None:
    problem = parse_problem(
        {
            "as_of": "2026-11-23",
            "areas": [{"id": "A"}],
            "units": [
                {
                    "id": "Kestrel",
                    "name": "Kestrel House",
                    "area": "A",
                    "kind": "adult_mixed",
                    "gender_policy": "mixed",
                    "support_hours_capacity": 10,
                }
            ],
            "bedspaces": [{"id": "B1", "unit": "Kestrel"}, {"id": "B2", "unit": "Kestrel"}],
            "residents": [
                {
                    "id": "P1",
                    "bedspace": "B2",
                    "gender": "man",
                    "age": 40,
                    "support_hours": 6,
                    "expected_leave": "2026-12-05",
                }
            ],
            "referrals": [
                {
                    "id": "R1",
                    "referred": "2026-11-01",
                    "age": 30,
                    "gender": "man",
                    "risk": "low",
                    "support_hours": 6,
                }
            ],
        }
    )
    answer = explain_referral(ExplainContext.build(problem), "R1")
    assert not answer.placeable
    place, occupied = answer.nearest
    assert place.unit == "Kestrel" and place.bedspaces == ["B1"]
    assert occupied.bedspaces == ["B2"] and len(occupied.blocking) == 2
    [blocking] = place.blocking
    assert blocking.rule == "support_hours_room_left" and blocking.family == 5
    assert blocking.missing is not None
    assert (blocking.missing.needed, blocking.missing.available) == (6, 4)
    assert answer.earliest is not None
    assert (str(answer.earliest.date), answer.earliest.bedspace) == ("2026-12-05", "B1")
    document = answer.model_dump(mode="json")
    assert "missing" in document["nearest"][0]["blocking"][0]


@settings(max_examples=25)
@given(problems())
def test_competition_names_only_equal_or_higher_priority_for_places_they_may_take(
    problem: Problem,
) -> None:
    context = ExplainContext.build(problem)
    priority = {r.id: r.priority for r in problem.referrals}
    for referral in problem.referrals:
        answer = explain_referral(context, referral.id)
        failing = failing_rules(problem, referral.id)
        for unit in answer.competition:
            assert unit.bedspaces and all(failing[b] == set() for b in unit.bedspaces)
            assert unit.contenders_total >= len(unit.contenders)
            for contender in unit.contenders:
                assert contender.referral != referral.id
                assert priority[contender.referral] >= referral.priority
                their = failing_rules(problem, contender.referral)
                in_unit = [p.bed.id for p in build_places(problem) if p.unit.id == unit.unit]
                assert any(their[b] == set() for b in in_unit)


def test_with_a_batch_the_people_it_places_hold_the_places_they_compete_for() -> None:
    problem = generate(3, 60, 80)
    batch = solve(problem, "greedy", 10)
    context = ExplainContext.build(problem, batch)
    placed = {a.referral: a.bedspace for a in batch.assignments}
    priority = {r.id: r.priority for r in problem.referrals}
    holders_seen = 0
    for referral in problem.referrals:
        if referral.id in placed:
            continue
        answer = explain_referral(context, referral.id, competition_units=50)
        for unit in answer.competition:
            for contender in unit.contenders:
                assert priority[contender.referral] >= referral.priority
                if contender.holds is not None:
                    holders_seen += 1
                    assert placed[contender.referral] == contender.holds
                    assert contender.holds in unit.bedspaces
    assert holders_seen
