"""The portfolio a scenario stresses, and the people who may be referred to it.

The portfolio is a generated `Problem` (units, bed-spaces, support teams and the people
already placed), changed the way a commissioner would change it. Referrals are drawn from a
pool of generated referrals, so their mix of ages, genders, risks and needs is the
generator's unless the scenario reweights it.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from capacity.scenario import DEFAULT_STAYS, PortfolioSpec, Scenario
from fixtures.generator import generate
from matcher.model import (
    BedSpace,
    Gender,
    GenderPolicy,
    Pathway,
    Policy,
    Problem,
    Referral,
    Risk,
    Staffing,
    SupportTeam,
    TeamKind,
    Unit,
    UnitKind,
)

TEMPLATE_POOL = 2000


class GivenPortfolio(BaseModel):
    """A portfolio taken as it stands instead of generated (the service's own, changed by a
    commissioner's scenario): its problem, the people who may be referred to it, and the
    people already waiting on day 0. Pairings are dropped from both lists: they name people
    of the snapshot, who never exist in the simulation under those ids."""

    model_config = ConfigDict(frozen=True)

    problem: Problem
    templates: tuple[Referral, ...] = ()
    waiting: tuple[Referral, ...] = ()

    @classmethod
    def of(
        cls, problem: Problem, templates: tuple[Referral, ...], waiting: tuple[Referral, ...]
    ) -> GivenPortfolio:
        def unpaired(people: tuple[Referral, ...]) -> tuple[Referral, ...]:
            return tuple(
                r.model_copy(update={"keep_apart": [], "keep_together": []}) for r in people
            )

        return cls(
            problem=problem.model_copy(update={"referrals": []}),
            templates=unpaired(templates),
            waiting=unpaired(waiting),
        )


@lru_cache(maxsize=8)
def build_portfolio(spec: PortfolioSpec) -> Problem:
    """The generated portfolio with the scenario's changes applied, without referrals."""
    problem = generate(spec.seed, 0, spec.beds, stress=spec.stress)
    if spec.women_only_share is not None:
        problem = _raise_women_only_share(problem, spec.women_only_share)
    if spec.extra_housing_first:
        problem = add_housing_first(problem, spec.extra_housing_first)
    if spec.women_only_reserve is not None:
        policy = Policy(weights=problem.policy.weights, women_only_reserve=spec.women_only_reserve)
        problem = problem.model_copy(update={"policy": policy})
    return problem


@lru_cache(maxsize=8)
def referral_templates(spec: PortfolioSpec) -> tuple[Referral, ...]:
    """People who may be referred: the generator's mix, each referred on their own.

    Pairings (couples, keep-apart) are dropped: they name people of the generated snapshot
    who never exist in the simulation.
    """
    pool = generate(spec.seed + 7919, TEMPLATE_POOL, spec.beds, stress=spec.stress)
    return tuple(
        r.model_copy(update={"keep_apart": [], "keep_together": []}) for r in pool.referrals
    )


def turnover_per_day(problem: Problem, scenario: Scenario) -> float:
    """Bed-spaces freeing per day in a steady state: each bed-space over its pathway's mean stay."""
    stays = {**DEFAULT_STAYS, **scenario.stays}
    units = {u.id: u for u in problem.units}
    return sum(1 / stays[units[b.unit].pathway].mean_days for b in problem.bedspaces)


def _raise_women_only_share(problem: Problem, share: float) -> Problem:
    """Redesignate mixed adult units, smallest first, until `share` of bed-spaces are women-only.

    Men and non-binary residents of a redesignated unit are moved elsewhere first, so the
    simulation starts from a portfolio where every hard rule holds.
    """
    return redesignate_women_only(problem, share, move_others=True).problem


class WomenOnlyRedesignation(BaseModel):
    """Units turned women-only to reach a share of bed-spaces, and the share reached."""

    model_config = ConfigDict(frozen=True)

    problem: Problem
    units: tuple[str, ...]
    women_only_bedspaces: int
    bedspaces: int

    @property
    def share(self) -> float:
        return self.women_only_bedspaces / self.bedspaces if self.bedspaces else 0.0


def redesignate_women_only(
    problem: Problem, share: float, *, move_others: bool
) -> WomenOnlyRedesignation:
    """Turn mixed adult units women-only, closest to `share` of bed-spaces first: the
    smallest unit that reaches the share, else the largest, mixed units before men-only ones.

    With `move_others` the men and non-binary residents of a converted unit leave the
    snapshot (a generated portfolio); without it a unit where any of them lives is left as
    it is (a live portfolio: nobody is moved by a plan), so the share reached may fall short.
    """
    size = {u.id: 0 for u in problem.units}
    for bed in problem.bedspaces:
        size[bed.unit] += 1
    unit_of_bed = {b.id: b.unit for b in problem.bedspaces}
    # Everyone the snapshot holds counts, whether living there now or due to arrive.
    housing_others = {
        unit_of_bed[r.bedspace] for r in problem.residents if r.gender is not Gender.woman
    }
    women_only = sum(
        size[u.id] for u in problem.units if u.gender_policy is GenderPolicy.women_only
    )
    wanted = math.ceil(share * len(problem.bedspaces))
    candidates = sorted(
        (
            u
            for u in problem.units
            if u.kind is UnitKind.adult_mixed
            and u.gender_policy is not GenderPolicy.women_only
            and size[u.id] > 0
            and (move_others or u.id not in housing_others)
        ),
        key=lambda u: (u.gender_policy is GenderPolicy.men_only, size[u.id], u.id),
    )
    converted: list[str] = []
    while women_only < wanted and candidates:
        missing = wanted - women_only
        reaching = [u for u in candidates if size[u.id] >= missing]
        unit = reaching[0] if reaching else max(candidates, key=lambda u: size[u.id])
        candidates.remove(unit)
        converted.append(unit.id)
        women_only += size[unit.id]
    chosen = set(converted)
    units = [
        u.model_copy(update={"gender_policy": GenderPolicy.women_only, "kind": UnitKind.women_only})
        if u.id in chosen
        else u
        for u in problem.units
    ]
    residents = [
        r
        for r in problem.residents
        if unit_of_bed[r.bedspace] not in chosen or r.gender is Gender.woman
    ]
    return WomenOnlyRedesignation(
        problem=problem.model_copy(update={"units": units, "residents": residents}),
        units=tuple(converted),
        women_only_bedspaces=women_only,
        bedspaces=len(problem.bedspaces),
    )


def add_flats(
    problem: Problem,
    flats: int,
    *,
    code: str,
    name: str,
    unit: dict[str, Any],
    team_kind: TeamKind,
    team_caseload: int,
) -> Problem:
    """Add self-contained flats (units of one bed-space, `unit` their fields) across the
    areas in turn, with teams of `team_caseload` cases each in every area to serve them.
    Ids: U{code}0001, B{code}0001, T{code}-{area}-1."""
    areas = [a.id for a in problem.areas]
    units, beds, teams = list(problem.units), list(problem.bedspaces), list(problem.support_teams)
    per_area = dict.fromkeys(areas, 0)
    for n in range(1, flats + 1):
        area = areas[(n - 1) % len(areas)]
        per_area[area] += 1
        unit_id = f"U{code}{n:04d}"
        units.append(
            Unit(id=unit_id, name=f"{name} {unit_id}", area=area, self_contained=True, **unit)
        )
        beds.append(BedSpace(id=f"B{code}{n:04d}", unit=unit_id, cluster="C1"))
    for area, count in per_area.items():
        for k in range(math.ceil(count / team_caseload)):
            teams.append(
                SupportTeam(
                    id=f"T{code}-{area}-{k + 1}",
                    kind=team_kind,
                    area=area,
                    caseload_capacity=team_caseload,
                    female_workers=1,
                )
            )
    return problem.model_copy(update={"units": units, "bedspaces": beds, "support_teams": teams})


def add_housing_first(problem: Problem, flats: int) -> Problem:
    """Add Housing First flats across the areas, with intensive support to serve them:
    intensive workers hold 5-7 cases (DESIGN.md facts list), so one team of 6 per 6 flats."""
    return add_flats(
        problem,
        flats,
        code="HF",
        name="Housing First flat",
        unit={
            "kind": UnitKind.housing_first,
            "min_age": 18,
            "staffing": Staffing.visiting,
            "max_risk": Risk.very_high,
            "max_high_risk_residents": 1,
            "support_hours_capacity": 15,
            "pathway": Pathway.housing_first,
        },
        team_kind=TeamKind.intensive,
        team_caseload=6,
    )
