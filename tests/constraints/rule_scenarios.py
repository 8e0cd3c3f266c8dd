"""For every rule of the registry, a problem where it alone stands in the way.

A `Scenario` names the registry entry (`rule`), a problem, the placements the rule forbids
there (`forbidden`), and the closest placements that keep it (`closest`, on `closest_problem`).
The problems are tight: with the rule in force the solver cannot place everyone, without it
it can (`solver`); `ranking_allows` asks the ranking the rule's question of the forbidden
placement. Pair rules reuse the one-referral cases of `test_rules_bite`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from constraints import PAIR_RULES, coupled
from constraints.coupled_rule import CoupledRule
from constraints.registry import ALL_RULES, HardRule
from constraints.rule import PairRule
from matcher.model import Assignment, Problem, Solution, SupportPlacement
from matcher.ranking import RankingContext, cost_to_others, override, rank
from tests.constraints.rule_cases import case
from tests.constraints.test_rules_bite import CASES

RankingProbe = Callable[[RankingContext], bool]


@dataclass(frozen=True)
class Scenario:
    rule: HardRule
    problem: Problem
    forbidden: list[Assignment]
    closest_problem: Problem
    closest: list[Assignment]
    ranking_allows: RankingProbe | None
    # The solver places everyone only without the rule. False where the model is built on
    # the rule (one variable per referral, one seat per bed-space) and cannot express its
    # breach.
    solver: bool = True
    label: str = ""
    # Support teams alone at home, beside `forbidden` and `closest`.
    forbidden_support: tuple[SupportPlacement, ...] = ()
    closest_support: tuple[SupportPlacement, ...] = ()

    @property
    def forbidden_solution(self) -> Solution:
        return Solution(assignments=self.forbidden, support_placements=list(self.forbidden_support))

    @property
    def closest_solution(self) -> Solution:
        return Solution(assignments=self.closest, support_placements=list(self.closest_support))

    @property
    def id(self) -> str:
        """The pair rule's name for a pair case, else the coupled rule's."""
        return self.label or self.rule.name


def owner(rule: PairRule) -> HardRule:
    """The registry entry a pair rule belongs to: itself, or the coupled rule it is a form of."""
    for entry in ALL_RULES:
        if entry is rule or (isinstance(entry, CoupledRule) and rule in entry.pair_forms):
            return entry
    raise LookupError(rule.name)


def placed(*places: tuple[str, ...]) -> list[Assignment]:
    """Assignments from (referral, bed-space) or (referral, bed-space, support team)."""
    return [
        Assignment(referral=p[0], bedspace=p[1], support_team=p[2] if len(p) > 2 else None)
        for p in places
    ]


def only_beds(problem: Problem, *keep: str) -> Problem:
    """The problem with just these bed-spaces and those residents occupy."""
    occupied = {r.bedspace for r in problem.residents}
    beds = [b for b in problem.bedspaces if b.id in keep or b.id in occupied]
    return problem.model_copy(update={"bedspaces": beds})


def ranks(referral: str, bed: str) -> RankingProbe:
    """The ranking lists this bed-space for this referral."""

    def probe(ctx: RankingContext) -> bool:
        return bed in [p.bedspace for p in rank(ctx, referral).ranked]

    return probe


def costs_nobody(referral: str, bed: str, other: str) -> RankingProbe:
    """Placing `referral` in `bed` costs `other` nothing they could not find elsewhere."""

    def probe(ctx: RankingContext) -> bool:
        r, b = ctx.referral_index(referral), ctx.tables.beds.index[bed]
        affected = cost_to_others(ctx, [(r, b, None)]).affected
        return other not in {a.referral for a in affected}

    return probe


def at_home(*pairs: tuple[str, str]) -> tuple[SupportPlacement, ...]:
    """Support placements from (referral, support team)."""
    return tuple(SupportPlacement(referral=r, support_team=t) for r, t in pairs)


def offers_support(referral: str, team: str) -> RankingProbe:
    """The ranking offers this team alone, at home, to this referral."""

    def probe(ctx: RankingContext) -> bool:
        return team in [o.support_team for o in rank(ctx, referral).support_only]

    return probe


def overrides_with_team(referral: str, bed: str, team: str) -> RankingProbe:
    def probe(ctx: RankingContext) -> bool:
        try:
            override(ctx, referral, bed, "the coordinator's reason", support_team=team)
        except Exception:
            return False
        return True

    return probe


def pair_scenario(rule: PairRule) -> Scenario:
    bites, keeps = CASES[rule.name]
    return Scenario(
        rule=owner(rule),
        problem=only_beds(case(**bites), "B1"),
        forbidden=placed(("R1", "B1")),
        closest_problem=case(**keeps),
        closest=[
            Assignment(
                referral="R1",
                bedspace="B1",
                support_team=keeps["teams"][0]["id"] if keeps.get("teams") else None,
            )
        ],
        ranking_allows=ranks("R1", "B1"),
        label=rule.name,
    )


def _second(**fields: Any) -> dict[str, Any]:
    return {"id": "R2", "referred": "2026-10-01", "age": 30, "gender": "man", **fields}


def _pair(first: dict[str, Any], second: dict[str, Any], *beds: str, **kwargs: Any) -> Problem:
    problem = case(referral=first, extra_referrals=[_second(**second)], **kwargs)
    return only_beds(problem, *beds) if beds else problem


def coupled_scenarios() -> list[Scenario]:
    c = coupled
    couple = {"keep_together": ["R2"]}
    visiting = {"staffing": "visiting"}
    navigator = {"id": "T1", "kind": "navigator", "area": "north", "caseload_capacity": 1}
    female = {**navigator, "id": "T2", "female_workers": 1}
    # Both units in the south; a woman cannot take the men-only one.
    da_south = {"area": "south", "gender_policy": "men_only"}
    return [
        Scenario(
            rule=c.each_referral_placed_once,
            problem=case(),
            forbidden=placed(("R1", "B1"), ("R1", "B3")),
            closest_problem=case(),
            closest=placed(("R1", "B1")),
            ranking_allows=None,
            solver=False,
        ),
        Scenario(
            rule=c.one_person_per_bedspace,
            problem=_pair({}, {}),
            forbidden=placed(("R1", "B1"), ("R2", "B1")),
            closest_problem=_pair({}, {}),
            closest=placed(("R1", "B1"), ("R2", "B2")),
            ranking_allows=None,
            solver=False,
        ),
        Scenario(
            rule=c.cluster_never_mixed_gender,
            problem=_pair(couple, {"gender": "woman"}, "B1", "B2"),
            forbidden=placed(("R1", "B1"), ("R2", "B2")),
            closest_problem=_pair(couple, {"gender": "woman"}),
            closest=placed(("R1", "B1"), ("R2", "B3")),
            ranking_allows=ranks("R1", "B1"),
        ),
        Scenario(
            rule=c.risk_to_women_never_with_women,
            problem=_pair({**couple, "flags": ["risk_to_women"]}, {"gender": "woman"}, "B1", "B3"),
            forbidden=placed(("R1", "B1"), ("R2", "B3")),
            closest_problem=_pair({"flags": ["risk_to_women"]}, {"gender": "woman"}),
            closest=placed(("R1", "B1"), ("R2", "S1")),
            ranking_allows=ranks("R1", "B1"),
        ),
        Scenario(
            rule=c.high_risk_within_unit_limit,
            problem=_pair(
                {**couple, "risk": "high"},
                {"risk": "high"},
                "B1",
                "B3",
                unit={"max_high_risk_residents": 1},
            ),
            forbidden=placed(("R1", "B1"), ("R2", "B3")),
            closest_problem=_pair(
                {**couple, "risk": "high"},
                {"risk": "medium"},
                unit={"max_high_risk_residents": 1},
            ),
            closest=placed(("R1", "B1"), ("R2", "B3")),
            ranking_allows=ranks("R1", "B1"),
        ),
        Scenario(
            rule=c.support_hours_within_capacity,
            problem=_pair(
                {**couple, "support_hours": 3},
                {"support_hours": 3},
                "B1",
                "B3",
                unit={"support_hours_capacity": 5},
            ),
            forbidden=placed(("R1", "B1"), ("R2", "B3")),
            closest_problem=_pair(
                {**couple, "support_hours": 3},
                {"support_hours": 2},
                unit={"support_hours_capacity": 5},
            ),
            closest=placed(("R1", "B1"), ("R2", "B3")),
            ranking_allows=ranks("R1", "B1"),
        ),
        Scenario(
            rule=c.support_team_required,
            problem=only_beds(case(unit=visiting), "B1"),
            forbidden=placed(("R1", "B1")),
            closest_problem=case(unit=visiting, teams=[navigator]),
            closest=placed(("R1", "B1", "T1")),
            ranking_allows=ranks("R1", "B1"),
        ),
        Scenario(
            rule=c.support_team_fits,
            problem=_pair(
                {"wants_female_worker": True},
                {"wants_female_worker": True},
                "B1",
                "B3",
                unit=visiting,
                teams=[navigator, female],
            ),
            forbidden=placed(("R1", "B1", "T2"), ("R2", "B3", "T1")),
            closest_problem=_pair(
                {"wants_female_worker": True}, {}, unit=visiting, teams=[navigator, female]
            ),
            closest=placed(("R1", "B1", "T2"), ("R2", "B3", "T1")),
            ranking_allows=overrides_with_team("R1", "B1", "T1"),
        ),
        Scenario(
            rule=c.team_caseload_within_capacity,
            problem=_pair(couple, {}, "B1", "B3", unit=visiting, teams=[navigator]),
            forbidden=placed(("R1", "B1", "T1"), ("R2", "B3", "T1")),
            closest_problem=_pair(couple, {}, unit=visiting, teams=[navigator, female]),
            closest=placed(("R1", "B1", "T1"), ("R2", "B3", "T2")),
            ranking_allows=ranks("R1", "B1"),
        ),
        Scenario(
            rule=c.team_support_hours_within_capacity,
            problem=case(
                referral={"wants": "support_only", "home_area": "north", "support_hours": 5},
                teams=[{**navigator, "caseload_capacity": 3, "support_hours_capacity": 4}],
            ),
            forbidden=[],
            forbidden_support=at_home(("R1", "T1")),
            closest_problem=case(
                referral={"wants": "support_only", "home_area": "north", "support_hours": 5},
                teams=[{**navigator, "caseload_capacity": 3, "support_hours_capacity": 5}],
            ),
            closest=[],
            closest_support=at_home(("R1", "T1")),
            ranking_allows=offers_support("R1", "T1"),
        ),
        Scenario(
            rule=c.da_victim_and_perpetrator_never_in_same_area,
            problem=_pair(
                {"flags": ["da_perpetrator"], "keep_apart": ["R2"]},
                {"gender": "woman", "flags": ["da_victim"]},
                "B1",
                "S1",
                unit=da_south,
            ),
            forbidden=placed(("R1", "B1"), ("R2", "S1")),
            closest_problem=_pair(
                {"flags": ["da_perpetrator"], "keep_apart": ["R2"]},
                {"gender": "woman", "flags": ["da_victim"]},
                unit={"gender_policy": "men_only"},
            ),
            closest=placed(("R1", "B1"), ("R2", "S1")),
            ranking_allows=costs_nobody("R1", "B1", "R2"),
        ),
        Scenario(
            rule=c.keep_apart_never_in_same_unit,
            problem=_pair({"keep_apart": ["R2"]}, {}, "B1", "B3"),
            forbidden=placed(("R1", "B1"), ("R2", "B3")),
            closest_problem=_pair({"keep_apart": ["R2"]}, {}),
            closest=placed(("R1", "B1"), ("R2", "S1")),
            ranking_allows=costs_nobody("R1", "B1", "R2"),
        ),
        Scenario(
            rule=c.keep_together_same_unit_or_neither,
            problem=_pair(couple, {}, "B1", "S1"),
            forbidden=placed(("R1", "B1"), ("R2", "S1")),
            closest_problem=_pair(couple, {}),
            closest=placed(("R1", "B1"), ("R2", "B3")),
            ranking_allows=ranks("R1", "B1"),
        ),
        Scenario(
            rule=c.women_only_reserve_held,
            problem=_pair(
                {**couple, "gender": "woman"},
                {"gender": "woman"},
                unit={"gender_policy": "women_only"},
                policy={"women_only_reserve": 2},
            ),
            forbidden=placed(("R1", "B1"), ("R2", "B2")),
            closest_problem=_pair(
                {**couple, "gender": "woman"},
                {"gender": "woman"},
                unit={"gender_policy": "women_only"},
                policy={"women_only_reserve": 1},
            ),
            closest=placed(("R1", "B1"), ("R2", "B2")),
            ranking_allows=ranks("R1", "B1"),
        ),
    ]


def scenarios() -> list[Scenario]:
    """One scenario per pair rule (its registry entry taken out) and per coupled rule."""
    return [pair_scenario(rule) for rule in PAIR_RULES] + coupled_scenarios()


def names_of(rule: HardRule) -> set[str]:
    """The names the rule's violations carry: its own and its pair forms'."""
    if isinstance(rule, CoupledRule):
        return {rule.name, *(form.name for form in rule.pair_forms)}
    return {rule.name}
