"""A commissioner's scenario: the changes to a snapshot of the live portfolio, and the
snapshot with them made.

A plan redesignates units (kind, gender policy, age band, pathway, staffing), adds or removes
bed-spaces, adds Housing First and step-down places, changes support teams, scales demand per
cohort and sets the women-only reserve. Applying it is held to the same rules as an edit of
the live data: each changed unit and team is validated whole by its model (a refuge is never
mixed, a women-only unit is of kind women-only), and a change that would make someone already
placed break a hard rule (a unit turned women-only around a man living there) is refused with
the rule and where. Every refusal is a `ProblemInvalid` naming the plan's field, so the API
answers 422.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.services import changes
from capacity.portfolio import (
    GivenPortfolio,
    add_flats,
    add_housing_first,
    redesignate_women_only,
)
from capacity.scenario import MAX_COHORT_SCALE, Allocation, Demand, Scenario
from constraints.checker import resident_violations
from constraints.cohorts import Cohort
from matcher.errors import Issue, ProblemInvalid
from matcher.limits import AGE_MAX, COUNT_MAX, Id
from matcher.model import (
    BedSpace,
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

PLACES_MAX = 10_000


class _Plan(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitRedesignation(_Plan):
    """The unit's fields to change; those left out keep their values."""

    kind: UnitKind | None = None
    gender_policy: GenderPolicy | None = None
    self_contained: bool | None = None
    min_age: int | None = Field(default=None, ge=16, le=AGE_MAX)
    max_age: int | None = Field(default=None, ge=16, le=AGE_MAX)
    under_18_approved: bool | None = None
    pathway: Pathway | None = None
    staffing: Staffing | None = None


class TeamChange(_Plan):
    kind: TeamKind | None = None
    caseload_capacity: int | None = Field(default=None, ge=0, le=COUNT_MAX)
    female_workers: int | None = Field(default=None, ge=0, le=COUNT_MAX)


class NewTeam(_Plan):
    kind: TeamKind
    area: Id
    caseload_capacity: int = Field(ge=1, le=COUNT_MAX)
    female_workers: int = Field(default=0, ge=0, le=COUNT_MAX)


class ScenarioPlan(_Plan):
    """What a scenario changes, and how it is run (`horizon_days`, `replications`, `seed`)."""

    horizon_days: int = Field(default=365, ge=7, le=3650)
    warmup_days: int = Field(default=0, ge=0, le=3650)
    replications: int = Field(default=10, ge=1, le=100)
    seed: int = Field(default=1, ge=0, le=2**31 - 1)
    backend: Literal["greedy", "cpsat"] = "greedy"
    units: dict[Id, UnitRedesignation] = Field(default_factory=dict, max_length=10_000)
    add_bedspaces: dict[Id, int] = Field(default_factory=dict, max_length=10_000)
    remove_bedspaces: list[Id] = Field(default_factory=list, max_length=100_000)
    housing_first_places: int = Field(default=0, ge=0, le=PLACES_MAX)
    step_down_places: int = Field(default=0, ge=0, le=PLACES_MAX)
    teams: dict[Id, TeamChange] = Field(default_factory=dict, max_length=10_000)
    remove_teams: list[Id] = Field(default_factory=list, max_length=10_000)
    new_teams: list[NewTeam] = Field(default_factory=list, max_length=1_000)
    # Referrals a day from everyone before scaling; None: the live rate of the last 90 days.
    referrals_per_day: float | None = Field(default=None, ge=0, le=10_000)
    demand_scale: dict[Cohort, float] = Field(default_factory=dict)
    # Shares of referrals per pathway (adding up to 1); None: the live mix.
    pathway_mix: dict[Pathway, float] | None = None
    women_only_reserve: int | None = Field(default=None, ge=0, le=COUNT_MAX)
    # Mixed adult units turned women-only until this share of bed-spaces is (units where a
    # man or non-binary person lives are left alone: a plan moves nobody).
    women_only_share: float | None = Field(default=None, ge=0, le=1)


def parse_plan(data: Any, loc: tuple[str | int, ...] = ("body", "plan")) -> ScenarioPlan:
    """A plan from decoded JSON, or `ProblemInvalid` naming each bad field under `loc`."""
    try:
        plan = ScenarioPlan.model_validate(data or {})
    except ValidationError as error:
        raise ProblemInvalid(_named(ProblemInvalid.from_validation_error(error, loc))) from None
    issues = [
        Issue((*loc, "add_bedspaces", unit), "must add between 1 and 10000 bed-spaces")
        for unit, count in plan.add_bedspaces.items()
        if not 1 <= count <= PLACES_MAX
    ]
    issues += [
        Issue(
            (*loc, "demand_scale", cohort.value),
            f"scale {scale:g} must be within 0 and {MAX_COHORT_SCALE:g}",
        )
        for cohort, scale in plan.demand_scale.items()
        if not 0 <= scale <= MAX_COHORT_SCALE
    ]
    mix = plan.pathway_mix or {}
    issues += [
        Issue((*loc, "pathway_mix", pathway.value), f"share {share:g} must be within 0 and 1")
        for pathway, share in mix.items()
        if not 0 <= share <= 1
    ]
    total = sum(mix.values())
    if mix and not issues and abs(total - 1) > 1e-6:
        issues.append(Issue((*loc, "pathway_mix"), f"shares add up to {total:g}, not 1"))
    if plan.warmup_days >= plan.horizon_days:
        issues.append(Issue((*loc, "warmup_days"), "must be shorter than horizon_days"))
    if issues:
        raise ProblemInvalid(issues)
    return plan


def _named(error: ProblemInvalid) -> list[Issue]:
    """Say "unknown cohort 'elves'" where pydantic says a key is not an allowed value."""
    issues = []
    for issue in error.issues:
        if issue.loc and issue.loc[-1] == "[key]" and len(issue.loc) >= 2:
            what = "cohort" if "demand_scale" in issue.loc else "pathway"
            issue = Issue(issue.loc[:-1], f"unknown {what} {issue.loc[-2]!r}; {issue.msg}")
        issues.append(issue)
    return issues


class LivePortfolio(BaseModel):
    """The live portfolio a scenario starts from, as it stood when the scenario was made: kept
    with the scenario, so re-running it later gives the same figures."""

    model_config = ConfigDict(frozen=True)

    problem: Problem
    templates: tuple[Referral, ...]
    referrals_per_day: float | None


def apply_plan(live: LivePortfolio, plan: ScenarioPlan) -> Problem:
    """The live portfolio with the plan's changes made, or `ProblemInvalid` naming what the
    plan may not do and why."""
    problem = live.problem
    loc: tuple[str | int, ...] = ("body", "plan")
    issues: list[Issue] = []
    units = {u.id: u for u in problem.units}
    for unit_id, change in plan.units.items():
        if unit_id not in units:
            issues.append(Issue((*loc, "units", unit_id), f"unknown unit {unit_id!r}"))
            continue
        given = change.model_dump(exclude_none=True, mode="json")
        stored = changes.stored_values(Unit, units[unit_id])
        try:
            units[unit_id] = changes.merge(Unit, stored, given, (*loc, "units", unit_id))  # type: ignore[assignment]
        except ProblemInvalid as error:
            issues += error.issues
    beds = {b.id: b for b in problem.bedspaces}
    occupied = {r.bedspace for r in problem.residents if problem.resident_is_present(r)}
    for i, bed_id in enumerate(plan.remove_bedspaces):
        if bed_id not in beds:
            issues.append(Issue((*loc, "remove_bedspaces", i), f"unknown bed-space {bed_id!r}"))
        elif bed_id in occupied:
            issues.append(
                Issue(
                    (*loc, "remove_bedspaces", i),
                    f"bed-space {bed_id!r} is occupied: remove it once its resident has left",
                )
            )
        else:
            del beds[bed_id]
    added = 0
    for unit_id, count in plan.add_bedspaces.items():
        if unit_id not in units:
            issues.append(Issue((*loc, "add_bedspaces", unit_id), f"unknown unit {unit_id!r}"))
            continue
        for _ in range(count):
            added += 1
            while f"SCN{added:06d}" in beds:
                added += 1
            bed = BedSpace(id=f"SCN{added:06d}", unit=unit_id, cluster="added")
            beds[bed.id] = bed
    teams = {t.id: t for t in problem.support_teams}
    for team_id, team_change in plan.teams.items():
        if team_id not in teams:
            issues.append(Issue((*loc, "teams", team_id), f"unknown support team {team_id!r}"))
            continue
        stored = changes.stored_values(SupportTeam, teams[team_id])
        given = team_change.model_dump(exclude_none=True, mode="json")
        try:
            teams[team_id] = changes.merge(SupportTeam, stored, given, (*loc, "teams", team_id))  # type: ignore[assignment]
        except ProblemInvalid as error:
            issues += error.issues
    for i, team_id in enumerate(plan.remove_teams):
        if team_id not in teams:
            issues.append(Issue((*loc, "remove_teams", i), f"unknown support team {team_id!r}"))
        elif teams[team_id].current_caseload:
            issues.append(
                Issue(
                    (*loc, "remove_teams", i),
                    f"support team {team_id!r} has {teams[team_id].current_caseload} people on "
                    "its caseload",
                )
            )
        else:
            del teams[team_id]
    areas = {a.id for a in problem.areas}
    for i, new in enumerate(plan.new_teams):
        if new.area not in areas:
            issues.append(Issue((*loc, "new_teams", i, "area"), f"unknown area {new.area!r}"))
            continue
        team = SupportTeam(id=f"TNEW{i + 1:03d}", **new.model_dump())
        teams[team.id] = team
    if issues:
        raise ProblemInvalid(issues)
    policy = problem.policy
    if plan.women_only_reserve is not None:
        policy = Policy(weights=policy.weights, women_only_reserve=plan.women_only_reserve)
    try:
        changed = Problem.model_validate(
            {
                **problem.model_dump(exclude={"units", "bedspaces", "support_teams", "policy"}),
                "units": list(units.values()),
                "bedspaces": list(beds.values()),
                "support_teams": list(teams.values()),
                "policy": policy,
            }
        )
    except ValidationError as error:
        raise ProblemInvalid.from_validation_error(error, loc) from None
    if plan.housing_first_places:
        changed = add_housing_first(changed, plan.housing_first_places)
    if plan.step_down_places:
        changed = add_step_down(changed, plan.step_down_places)
    if plan.women_only_share is not None:
        changed = _with_women_only_share(changed, plan.women_only_share, loc)
    _refuse_new_breaches(problem, changed, loc)
    return changed


def _with_women_only_share(problem: Problem, share: float, loc: tuple[str | int, ...]) -> Problem:
    """The portfolio with mixed units turned women-only to reach `share`, or `ProblemInvalid`
    saying the most that can be reached without moving anyone."""
    turned = redesignate_women_only(problem, share, move_others=False)
    if turned.women_only_bedspaces < share * turned.bedspaces:
        raise ProblemInvalid(
            [
                Issue(
                    (*loc, "women_only_share"),
                    f"at most {turned.women_only_bedspaces} of {turned.bedspaces} bed-spaces "
                    f"({turned.share:.0%}) can be women-only without moving anyone: the other "
                    "mixed units have men or non-binary people living in them",
                )
            ]
        )
    return turned.problem


def _refuse_new_breaches(before: Problem, after: Problem, loc: tuple[str | int, ...]) -> None:
    """A change that would make someone already placed break a hard rule is refused, with the
    rule and the bed-space (never the person: a commissioner sees no personal data)."""
    known = {(v.rule, v.bedspace) for v in resident_violations(before)}
    unit_of = {b.id: b.unit for b in after.bedspaces}
    issues = [
        Issue(
            (*loc, "units", unit_of.get(v.bedspace or "", "")),
            f"refused by the rule {v.rule.replace('_', ' ')}: the person already in bed-space "
            f"{v.bedspace} would break it",
        )
        for v in resident_violations(after)
        if (v.rule, v.bedspace) not in known
    ]
    if issues:
        raise ProblemInvalid(list(dict.fromkeys(issues)))


def add_step_down(problem: Problem, places: int) -> Problem:
    """Add step-down flats (self-contained, step-down pathway, visiting support) across the
    areas, with navigator teams to support them (15-20 cases each: DESIGN.md facts list)."""
    return add_flats(
        problem,
        places,
        code="SD",
        name="Step-down flat",
        unit={
            "kind": UnitKind.adult_mixed,
            "min_age": 18,
            "staffing": Staffing.visiting,
            "max_risk": Risk.medium,
            "max_high_risk_residents": 0,
            "support_hours_capacity": 10,
            "pathway": Pathway.step_down,
        },
        team_kind=TeamKind.navigator,
        team_caseload=15,
    )


def scenario_of(name: str, plan: ScenarioPlan, live: LivePortfolio) -> Scenario:
    """The simulation's scenario: the plan's demand and run settings on the live rates."""
    rate = plan.referrals_per_day
    if rate is None:
        rate = live.referrals_per_day
    return Scenario(
        name=name,
        seed=plan.seed,
        horizon_days=plan.horizon_days,
        warmup_days=plan.warmup_days,
        demand=Demand(
            referrals_per_day=rate,
            cohort_scale=dict(plan.demand_scale),
            pathway_mix=plan.pathway_mix,
        ),
        allocation=Allocation(backend=plan.backend, time_limit_s=2.0),
    )


def given_portfolio(live: LivePortfolio, plan: ScenarioPlan) -> GivenPortfolio:
    changed = apply_plan(live, plan)
    return GivenPortfolio.of(changed, live.templates, tuple(live.problem.referrals))


def describe(plan: ScenarioPlan) -> list[str]:
    """The plan's changes as sentences, for the scenario's page."""
    lines = []
    for unit_id, change in plan.units.items():
        fields = change.model_dump(exclude_none=True, mode="json")
        said = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in fields.items())
        lines.append(f"Unit {unit_id}: {said}")
    lines += [f"Add {n} bed-spaces to unit {u}" for u, n in plan.add_bedspaces.items()]
    if plan.remove_bedspaces:
        lines.append("Remove bed-spaces " + ", ".join(plan.remove_bedspaces))
    if plan.housing_first_places:
        lines.append(f"Add {plan.housing_first_places} Housing First places")
    if plan.step_down_places:
        lines.append(f"Add {plan.step_down_places} step-down places")
    for team_id, team_change in plan.teams.items():
        fields = team_change.model_dump(exclude_none=True, mode="json")
        said = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in fields.items())
        lines.append(f"Support team {team_id}: {said}")
    if plan.remove_teams:
        lines.append("Close support teams " + ", ".join(plan.remove_teams))
    for team in plan.new_teams:
        lines.append(
            f"New {team.kind.value} team in {team.area}: {team.caseload_capacity} places, "
            f"{team.female_workers} female workers"
        )
    for cohort, scale in plan.demand_scale.items():
        lines.append(f"Demand from {cohort.value.replace('_', ' ')} × {scale:g}")
    for pathway, share in (plan.pathway_mix or {}).items():
        lines.append(f"{share:.0%} of referrals for the {pathway.value.replace('_', ' ')} pathway")
    if plan.referrals_per_day is not None:
        lines.append(f"{plan.referrals_per_day:g} referrals a day before scaling")
    if plan.women_only_reserve is not None:
        lines.append(f"Women-only reserve: {plan.women_only_reserve} bed-spaces")
    if plan.women_only_share is not None:
        lines.append(
            f"Mixed units turned women-only until {plan.women_only_share:.0%} of bed-spaces are"
        )
    return lines
