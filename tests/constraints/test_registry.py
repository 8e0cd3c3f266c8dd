"""The registry of hard rules: each rule once, named, with its family, source and reason, a
test that bites and a closest placement that keeps it; no rule written outside constraints/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from constraints import PAIR_RULES
from constraints.checker import check
from constraints.coupled_rule import CoupledRule
from constraints.registry import ALL_RULES, HARD_RULES, every_rule, pair_rules_in_force
from tests.constraints.rule_scenarios import Scenario, coupled_scenarios, names_of, scenarios

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT.parent / "shared" / "sources"
SOURCE_NAME = re.compile(r"\d{3}_[0-9a-f]{16}\.txt")
OUTSIDE_CONSTRAINTS = ("matcher", "capacity", "api", "benchmarks", "fixtures")


def test_every_rule_is_listed_once_and_every_pair_rule_reached() -> None:
    names = [rule.name for rule in every_rule()]
    # The reserve's pair form and its count over all newcomers share the rule's one name.
    assert sorted(n for n in set(names) if names.count(n) > 1) == ["women_only_reserve_held"]
    assert len(HARD_RULES) == len(set(HARD_RULES))
    forms = [
        form for rule in HARD_RULES if isinstance(rule, CoupledRule) for form in rule.pair_forms
    ]
    listed = [rule for rule in HARD_RULES if not isinstance(rule, CoupledRule)]
    assert sorted(r.name for r in forms + listed) == sorted(r.name for r in PAIR_RULES)
    assert pair_rules_in_force() == frozenset(PAIR_RULES)


@pytest.mark.parametrize("rule", every_rule(), ids=lambda rule: rule.name)
def test_rule_has_family_source_and_reason(rule) -> None:  # type: ignore[no-untyped-def]
    assert 1 <= rule.family_number <= 9
    assert rule.reason.strip()
    cited = SOURCE_NAME.findall(rule.doc) + re.findall(r"DESIGN\.md", rule.doc)
    assert cited, f"{rule.name} cites no source document"
    for name in SOURCE_NAME.findall(rule.doc):
        assert (SOURCES / name).exists(), f"{rule.name} cites {name}, which is not in sources/"


def test_every_family_has_a_rule() -> None:
    assert {rule.family_number for rule in ALL_RULES} == set(range(1, 10))


def test_no_rule_name_or_reason_written_outside_constraints() -> None:
    names = {rule.name for rule in every_rule()}
    reasons = {rule.reason.rstrip(".") for rule in every_rule()}
    # The longest fixed part of each of the coupled rules' other sentences.
    phrases = {
        max(re.split(r"\{[^}]*\}", text), key=len).strip(" .:;")
        for rule in every_rule()
        if isinstance(rule, CoupledRule)
        for text in rule.phrases.values()
    }
    found = []
    for package in OUTSIDE_CONSTRAINTS:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    text = node.value
                    if text in names or any(r in text for r in reasons | phrases if len(r) > 12):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text[:60]}")
    assert found == []


def test_every_coupled_rule_has_a_scenario() -> None:
    listed = {rule.name for rule in HARD_RULES if isinstance(rule, CoupledRule)}
    assert {s.rule.name for s in coupled_scenarios()} == listed


@pytest.mark.parametrize("scenario", scenarios(), ids=lambda s: s.id)
def test_rule_bites_in_the_checker(scenario: Scenario) -> None:
    broken = {v.rule for v in check(scenario.problem, scenario.forbidden_solution)}
    assert broken and broken <= names_of(scenario.rule)


@pytest.mark.parametrize("scenario", coupled_scenarios(), ids=lambda s: s.id)
def test_closest_placement_that_keeps_a_coupled_rule_is_allowed(scenario: Scenario) -> None:
    assert check(scenario.closest_problem, scenario.closest_solution) == []
