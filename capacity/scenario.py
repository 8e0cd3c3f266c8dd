"""A stress-test scenario: the portfolio, the demand on it and how it is allocated, from YAML.

A scenario names a portfolio (drawn by `fixtures.generator.generate`, then changed the way a
commissioner would change it: more women-only bed-spaces, more Housing First flats), the
referrals arriving on it by cohort, how long people stay per pathway, how many move on from
one pathway to the next, and which matcher backend allocates, daily or on each arrival.

Every field is checked; a bad one is a `ProblemInvalid` naming the field and why (a rate
below zero, a share above 1, an unknown cohort or pathway), so `bedmatch simulate` exits 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from constraints.cohorts import Cohort
from fixtures.generator import STRESS_VARIANTS
from matcher.errors import Issue, ProblemInvalid
from matcher.model import Pathway


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PortfolioSpec(_Section):
    """The bed portfolio: a generated one, then changed as the commissioner asks."""

    seed: int = 1
    beds: int = Field(default=300, ge=1, le=100_000)
    stress: str | None = None
    # Share of bed-spaces in women-only units; mixed units are redesignated (smallest first)
    # until it is reached. Men already there stay until they leave; the rules keep newcomers
    # safe meanwhile (a cluster never mixes).
    women_only_share: float | None = Field(default=None, ge=0, le=1)
    extra_housing_first: int = Field(default=0, ge=0, le=10_000)
    women_only_reserve: int | None = Field(default=None, ge=0)

    @field_validator("stress")
    @classmethod
    def _known_stress(cls, value: str | None) -> str | None:
        if value not in STRESS_VARIANTS:
            known = ", ".join(repr(v) for v in STRESS_VARIANTS if v)
            raise ValueError(f"unknown stress variant {value!r}; expected one of {known}")
        return value


MAX_COHORT_SCALE = 10.0


class Demand(_Section):
    """Referrals arriving (Poisson), drawn from the generator's mix of people.

    `referrals_per_day` draws from everyone; each entry of `cohorts` adds a stream drawn only
    from people in that cohort. `pathway_mix` (shares adding up to 1) reweights pathways.
    """

    referrals_per_day: float | None = Field(default=None, ge=0)
    cohorts: dict[Cohort, float] = Field(default_factory=dict)
    # Each person's chance of being referred, multiplied by the factor of every cohort they
    # are in (women 1.5: half as many women again; care leavers 0: none). Rates, not shares.
    cohort_scale: dict[Cohort, float] = Field(default_factory=dict)
    pathway_mix: dict[Pathway, float] | None = None
    # Mean days a referral waits before withdrawing (exponential); None: nobody withdraws.
    withdraw_after_days: float | None = Field(default=120.0, gt=0)
    initial_waiting: int = Field(default=0, ge=0)

    @field_validator("cohorts")
    @classmethod
    def _rates_not_negative(cls, rates: dict[Cohort, float]) -> dict[Cohort, float]:
        for cohort, rate in rates.items():
            if rate < 0:
                raise ValueError(f"rate for {cohort.value} is {rate}; must not be below zero")
        return rates

    @field_validator("cohort_scale")
    @classmethod
    def _scales_in_range(cls, scales: dict[Cohort, float]) -> dict[Cohort, float]:
        for cohort, scale in scales.items():
            if not 0 <= scale <= MAX_COHORT_SCALE:
                raise ValueError(
                    f"scale for {cohort.value} is {scale}; must be within 0 and {MAX_COHORT_SCALE}"
                )
        return scales

    @field_validator("pathway_mix")
    @classmethod
    def _shares(cls, mix: dict[Pathway, float] | None) -> dict[Pathway, float] | None:
        if mix is None:
            return None
        for pathway, share in mix.items():
            if not 0 <= share <= 1:
                raise ValueError(f"share for {pathway.value} is {share}; must be within 0 and 1")
        if abs(sum(mix.values()) - 1) > 1e-6:
            raise ValueError(f"shares add up to {sum(mix.values()):g}, not 1")
        return mix


class StayDistribution(_Section):
    """Length of a stay in days: gamma distributed with this mean and standard deviation."""

    mean_days: float = Field(gt=0)
    sd_days: float = Field(ge=0)


DEFAULT_STAYS = {
    # Emergency aims at 6 weeks but some stays run past 3 months (blocked move-on).
    Pathway.emergency: StayDistribution(mean_days=49, sd_days=35),
    Pathway.recovery: StayDistribution(mean_days=190, sd_days=70),
    Pathway.housing_first: StayDistribution(mean_days=900, sd_days=400),
    # Step-down aims at 4 weeks; a few wait longer for a settled home.
    Pathway.step_down: StayDistribution(mean_days=32, sd_days=18),
}


class MoveOn(_Section):
    """Shares of people who, at the end of a stay, need the next pathway rather than leave."""

    emergency_to_recovery: float = Field(default=0.3, ge=0, le=1)
    recovery_to_housing_first: float = Field(default=0.03, ge=0, le=1)
    # Someone still waiting to move on after this many days leaves for elsewhere.
    max_wait_days: float = Field(default=180.0, gt=0)


class Allocation(_Section):
    backend: Literal["greedy", "cpsat"] = "greedy"
    time_limit_s: float = Field(default=2.0, gt=0)
    every: Literal["day", "arrival"] = "day"


class Scenario(_Section):
    name: str = Field(default="scenario", min_length=1)
    seed: int = 0
    horizon_days: int = Field(default=365, ge=1, le=3650)
    # Referrals in the first days meet a portfolio still settling from its starting state;
    # their waits and placements are left out of the figures (the report says how many days).
    warmup_days: int = Field(default=0, ge=0, le=3650)
    portfolio: PortfolioSpec = Field(default_factory=PortfolioSpec)
    demand: Demand = Field(default_factory=Demand)
    stays: dict[Pathway, StayDistribution] = Field(default_factory=lambda: dict(DEFAULT_STAYS))
    move_on: MoveOn = Field(default_factory=MoveOn)
    allocation: Allocation = Field(default_factory=Allocation)

    @model_validator(mode="after")
    def _warmup_inside_the_horizon(self) -> Self:
        if self.warmup_days >= self.horizon_days:
            raise ValueError(
                f"warmup_days {self.warmup_days} leaves nothing of horizon_days "
                f"{self.horizon_days} to measure"
            )
        return self

    @model_validator(mode="after")
    def _every_pathway_has_a_stay(self) -> Self:
        stays = {**DEFAULT_STAYS, **self.stays}
        object.__setattr__(self, "stays", stays)
        return self


def parse_scenario(data: Any) -> Scenario:
    """Validate decoded YAML as a `Scenario`, or raise `ProblemInvalid` naming each bad field."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProblemInvalid([Issue((), "a scenario must be a mapping of fields")])
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ProblemInvalid(_name_unknown_keys(error)) from None


def _name_unknown_keys(error: ValidationError) -> list[Issue]:
    """Say "unknown cohort 'elves'" where pydantic says a dict key is not an allowed value."""
    issues = []
    for issue in ProblemInvalid.from_validation_error(error).issues:
        if issue.loc and issue.loc[-1] == "[key]" and len(issue.loc) >= 2:
            cohort_fields = {"cohorts", "cohort_scale"}
            what = "cohort" if cohort_fields & {str(part) for part in issue.loc} else "pathway"
            issue = Issue(issue.loc[:-1], f"unknown {what} {issue.loc[-2]!r}; {issue.msg}")
        issues.append(issue)
    return issues


def load_scenario(path: str | Path) -> Scenario:
    """Read a scenario YAML file; a missing file, bad YAML or a bad field is `ProblemInvalid`."""
    name = str(path)
    try:
        text = Path(path).read_text()
    except OSError as error:
        raise ProblemInvalid([Issue((), f"{name}: cannot read file ({error.strerror})")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ProblemInvalid([Issue((), f"{name}: not valid YAML ({error})")]) from None
    scenario = parse_scenario(data)
    if "name" not in (data or {}):
        scenario = scenario.model_copy(update={"name": Path(path).stem})
    return scenario
