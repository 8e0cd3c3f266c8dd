"""The vectorised masks say exactly what the plain rule functions say, pair by pair."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from constraints import BEDSPACE_RULES, PAIR_RULES, UNIT_RULES
from constraints.eligibility import eligibility
from constraints.rule import build_places
from matcher.model import Problem
from tests.strategies import problems


@given(problems())
def test_each_rule_mask_equals_plain_evaluation(problem: Problem) -> None:
    result = eligibility(problem, reasons=True)
    tables = result.tables
    places = build_places(problem)
    for r, referral in enumerate(problem.referrals):
        for b, place in enumerate(places):
            plain = {rule.name for rule in PAIR_RULES if not rule(referral, place)}
            vectorised = {rule.name for rule in result.rules_failed(r, b)}
            assert vectorised == plain, (referral.id, place.bed.id)
            assert result.allowed[r, b] == (not plain)
            u = int(tables.beds.unit[b])
            unit_plain = {rule.name for rule in UNIT_RULES if not rule(referral, place)}
            assert result.unit_allowed[r, u] == (not unit_plain)


def test_every_rule_has_a_vectorised_form_and_a_sourced_docstring() -> None:
    assert len(UNIT_RULES) + len(BEDSPACE_RULES) == len(PAIR_RULES)
    for rule in PAIR_RULES:
        assert rule.mask is not None, rule.name
        assert rule.doc and rule.reason.endswith("."), rule.name
        assert ".txt" in rule.doc or "DESIGN.md" in rule.doc, rule.name


def test_mask_shapes_on_an_empty_problem() -> None:
    problem = Problem.model_validate({"as_of": "2026-11-23"})
    result = eligibility(problem, reasons=True)
    assert result.allowed.shape == (0, 0)
    assert isinstance(result.allowed, np.ndarray)


@given(problems(), st.data())
def test_places_built_for_some_bedspaces_are_those_built_for_all(
    problem: Problem, data: st.DataObject
) -> None:
    # The checker builds places only for the bed-spaces assigned, reading just their areas'
    # residents and teams: nothing a rule looks at may differ from the whole portfolio's view.
    ids = [bed.id for bed in problem.bedspaces]
    only = set(data.draw(st.lists(st.sampled_from(ids), max_size=4))) if ids else set()
    whole = {place.bed.id: place for place in build_places(problem)}
    assert {place.bed.id: place for place in build_places(problem, only=only)} == {
        bed: whole[bed] for bed in only
    }
