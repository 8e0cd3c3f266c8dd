"""A discrete-event simulation (SimPy) of a bed portfolio under a scenario's demand.

Time is in days from the portfolio's `as_of`. People leave at the start of a day, referrals
arrive at any moment, and the matcher allocates at midday (or on each arrival). Each
allocation is incremental: the matcher sees only the waiting list against the units that have
a free bed-space today, with those units' residents, every support team's caseload as it now
stands and the women-only reserve, which is everything the hard rules look at. Every
allocation is then checked with `constraints.checker.check`; a broken hard rule stops the run.

At the end of a stay a person either leaves or, by the scenario's move-on shares, is referred
on to the next pathway (emergency to recovery, recovery to Housing First) and keeps their
bed-space until placed, which is how blocked move-on shows up as stays past their target.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import simpy
from pydantic import BaseModel, ConfigDict

from capacity.length_of_stay import past_target
from capacity.portfolio import (
    GivenPortfolio,
    build_portfolio,
    referral_templates,
    turnover_per_day,
)
from capacity.quotas import women_only_share
from capacity.scenario import Scenario, StayDistribution
from capacity.statistics import wait_quantiles
from constraints.checker import Violation, check
from constraints.cohorts import Cohort, cohorts_of, cohorts_of_referral
from constraints.eligibility import eligibility
from matcher.model import (
    Assignment,
    GenderPolicy,
    Pathway,
    Problem,
    Referral,
    Resident,
    Solution,
    SupportTeam,
    Unit,
)

Solver = Callable[[Problem, str, float], Solution]

ALL = "all"
LEAVE_AT = 0.0  # people leave at the start of a day
ALLOCATE_AT = 0.5  # the daily allocation runs at midday
NEXT_PATHWAY = {Pathway.emergency: Pathway.recovery, Pathway.recovery: Pathway.housing_first}


class HardRuleBroken(RuntimeError):
    """The matcher returned an allocation that breaks a hard rule; the run cannot go on."""

    def __init__(self, message: str, violations: list[Violation] | None = None) -> None:
        # SimPy re-raises a copy built from `args` alone, so the message says it all.
        super().__init__(message)
        self.violations = violations or []

    @classmethod
    def on_day(cls, day: int, violations: list[Violation]) -> HardRuleBroken:
        rules = ", ".join(sorted({v.rule for v in violations}))
        return cls(f"day {day}: the allocation breaks {rules}", violations)


def matcher_solve(problem: Problem, backend: str, time_limit_s: float) -> Solution:
    """The real matcher, imported late so this module loads without the solver stack."""
    from matcher.solve import solve

    # The simulation reads the placements alone: no reasons for the unplaced, every day.
    return solve(problem, backend=backend, time_limit_s=time_limit_s, explain=False)


@dataclass
class Person:
    """One referral's journey: arrival, then placed, withdrawn, or still waiting at the end."""

    referral: Referral
    cohorts: frozenset[Cohort]
    arrived_t: float
    moving_from: str | None = None  # the bed-space a person moving on holds meanwhile
    placed_t: float | None = None
    withdrawn_t: float | None = None
    bedspace: str | None = None

    @property
    def outcome(self) -> str:
        if self.placed_t is not None:
            return "placed"
        return "withdrawn" if self.withdrawn_t is not None else "waiting"


@dataclass
class Stay:
    """One person in one bed-space, from `start_t` to `end_t` (None: still there)."""

    resident: Resident
    bedspace: str
    pathway: Pathway
    cohorts: frozenset[Cohort]
    start_t: float
    women_safe: bool
    team: str | None = None
    end_t: float | None = None
    person: Person | None = None  # None for people already there on day 0

    def length(self, until: float) -> float:
        return (until if self.end_t is None else min(self.end_t, until)) - self.start_t


class PortfolioState:
    """Who holds which bed-space and how full each team is: the simulation's ground truth.

    It refuses anything that would put two people in a bed-space, a person in a bed-space
    before it is available, or a team over its caseload, so the invariants hold by
    construction and the state machine tests can drive it directly.
    """

    def __init__(self, portfolio: Problem) -> None:
        self.portfolio = portfolio
        self.start = portfolio.as_of
        self.units = {u.id: u for u in portfolio.units}
        self.beds = {b.id: b for b in portfolio.bedspaces}
        self.unit_of = {b.id: b.unit for b in portfolio.bedspaces}
        self.beds_of_unit: dict[str, list[str]] = {u.id: [] for u in portfolio.units}
        for bed in portfolio.bedspaces:
            self.beds_of_unit[bed.unit].append(bed.id)
        self.available_t = {
            b.id: max(0.0, float((b.available_from - self.start).days))
            if b.available_from is not None
            else 0.0
            for b in portfolio.bedspaces
        }
        self.teams = {t.id: t for t in portfolio.support_teams}
        self.team_load = {t.id: t.current_caseload for t in portfolio.support_teams}
        self.occupant: dict[str, Stay] = {}

    def date_at(self, t: float) -> date:
        return self.start + timedelta(days=math.floor(t))

    def is_available(self, bedspace: str, t: float) -> bool:
        return self.available_t[bedspace] <= math.floor(t)

    def free_bedspaces(self, t: float) -> list[str]:
        return [b for b in self.beds if b not in self.occupant and self.is_available(b, t)]

    def capacity(self, t: float) -> int:
        """Bed-spaces open on day `t`, occupied or not."""
        return sum(1 for b in self.beds if self.is_available(b, t))

    @property
    def occupied(self) -> int:
        return len(self.occupant)

    def admit(self, stay: Stay) -> None:
        bed = stay.bedspace
        if bed in self.occupant:
            raise ValueError(f"bed-space {bed} already holds {self.occupant[bed].resident.id}")
        if not self.is_available(bed, stay.start_t):
            raise ValueError(f"bed-space {bed} is not available on day {stay.start_t:g}")
        if stay.team is not None:
            team = self.teams[stay.team]
            if self.team_load[team.id] >= team.caseload_capacity:
                raise ValueError(f"team {team.id} is at its caseload capacity")
            self.team_load[team.id] += 1
        self.occupant[bed] = stay

    def release(self, bedspace: str, t: float) -> Stay:
        stay = self.occupant.pop(bedspace)
        stay.end_t = t
        if stay.team is not None:
            self.team_load[stay.team] -= 1
        return stay

    def snapshot(self, t: float, referrals: Sequence[Referral] = ()) -> Problem:
        """The whole portfolio as it stands on day `t`, with these referrals."""
        return self._problem(t, self.portfolio.units, referrals)

    def matching_problem(self, t: float, referrals: Sequence[Referral]) -> Problem:
        """The waiting list against the units with a free bed-space today, and their residents."""
        free_units = {self.unit_of[b] for b in self.free_bedspaces(t)}
        units = [u for u in self.portfolio.units if u.id in free_units]
        return self._problem(t, units, referrals)

    def _problem(self, t: float, units: Sequence[Unit], referrals: Sequence[Referral]) -> Problem:
        bed_ids = [b for u in units for b in self.beds_of_unit[u.id]]
        teams = [
            team.model_copy(update={"current_caseload": self.team_load[team.id]})
            if self.team_load[team.id] != team.current_caseload
            else team
            for team in self.portfolio.support_teams
        ]
        return Problem(
            as_of=self.date_at(t),
            areas=self.portfolio.areas,
            links=self.portfolio.links,
            units=list(units),
            bedspaces=[self.beds[b] for b in bed_ids],
            support_teams=teams,
            residents=[self.occupant[b].resident for b in bed_ids if b in self.occupant],
            referrals=list(referrals),
            policy=self.portfolio.policy,
        )


class CohortFigures(BaseModel):
    model_config = ConfigDict(frozen=True)

    arrivals: int
    placed: int
    withdrawn: int
    waiting_at_end: int
    never_placed: int
    never_placed_share: float
    # Waits of the people placed only: kept for comparison, but blind to whoever still waits.
    wait_p50_days: float | None
    wait_p90_days: float | None
    wait_mean_days: float | None
    # Waits of everyone referred, those still waiting (or withdrawn) counted as censored:
    # Kaplan-Meier quantiles, None where under half (or 90%) are placed within the horizon.
    wait_everyone_p50_days: float | None = None
    wait_everyone_p90_days: float | None = None
    still_waiting_share: float = 0.0
    bed_days: float
    occupancy_share: float  # of the portfolio's open bed-days
    stays: int
    los_breaches: int
    women_safe_placement_share: float | None  # placed in women-only or self-contained units


class ReplicationResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    scenario: str
    replication: int
    seed: int
    horizon_days: int
    backend: str
    bedspaces: int
    women_only_share: float
    women_safe_share: float
    occupancy: float
    bed_days: float
    capacity_bed_days: float
    daily_occupancy: list[float]
    waiting_list: list[int]  # waiting at each daily allocation
    cohorts: dict[str, CohortFigures]
    allocations: int
    allocations_checked: int
    solve_seconds: float
    wall_seconds: float


def _gamma_days(rng: random.Random, stay: StayDistribution) -> float:
    if stay.sd_days == 0:
        return stay.mean_days
    shape = (stay.mean_days / stay.sd_days) ** 2
    return rng.gammavariate(shape, stay.sd_days**2 / stay.mean_days)


@dataclass
class _Stream:
    name: str
    rate: float
    pool: list[Referral] = field(default_factory=list)
    weights: list[float] | None = None  # None: everyone in the pool equally likely


class Simulation:
    """One replication of a scenario. `run()` returns its figures; the ledger stays readable.

    `solver` defaults to the real matcher (`matcher.solve.solve`). With `given`, the portfolio
    and the people referred to it are those given (the service's own), not generated.
    """

    def __init__(
        self,
        scenario: Scenario,
        replication: int = 0,
        *,
        solver: Solver | None = None,
        given: GivenPortfolio | None = None,
    ) -> None:
        self.scenario = scenario
        self.replication = replication
        self.seed = scenario.seed * 1_000_003 + replication
        self.solver = solver or matcher_solve
        self.given = given
        if given is not None:
            self.portfolio = given.problem.model_copy(update={"referrals": []})
            self.templates = list(given.templates)
        else:
            self.portfolio = build_portfolio(scenario.portfolio)
            self.templates = list(referral_templates(scenario.portfolio))
        self.state = PortfolioState(self.portfolio.model_copy(update={"residents": []}))
        self.horizon = float(scenario.horizon_days)
        self.env = simpy.Environment()
        # One generator per source of chance, so changing one part of a scenario (say, demand)
        # leaves the others drawing the same numbers (common random numbers).
        self._rng_arrivals = random.Random(f"{self.seed}-arrivals")
        self._rng_stays = random.Random(f"{self.seed}-stays")
        self._rng_patience = random.Random(f"{self.seed}-patience")
        self._rng_move_on = random.Random(f"{self.seed}-move-on")
        self.people: dict[str, Person] = {}
        self.waiting: dict[str, Person] = {}
        self.stays: list[Stay] = []
        self.daily_occupancy: list[float] = []
        self.waiting_list: list[int] = []
        self.allocations = 0
        self.allocations_checked = 0
        self.solve_seconds = 0.0
        self._next_id = 0

    # --- set-up -------------------------------------------------------------------------

    def _streams(self) -> list[_Stream]:
        demand = self.scenario.demand
        templates = self.templates
        general = demand.referrals_per_day
        if general is None:
            general = turnover_per_day(self.portfolio, self.scenario)
        weights = None
        if demand.cohort_scale and templates:
            weights = [_scale(cohorts_of_referral(t), demand.cohort_scale) for t in templates]
            # Scaling a cohort changes how many are referred, not only the mix.
            general *= sum(weights) / len(weights)
        streams = [_Stream("general", general, templates, weights)]
        for cohort, rate in demand.cohorts.items():
            pool = [t for t in templates if cohort in cohorts_of_referral(t)]
            streams.append(_Stream(cohort.value, rate, pool))
        return [s for s in streams if s.rate > 0 and s.pool]

    def _draw_template(
        self, pool: Sequence[Referral], weights: Sequence[float] | None = None
    ) -> Referral:
        mix = self.scenario.demand.pathway_mix
        rng = self._rng_arrivals
        if mix:
            pathways = list(mix)
            pathway = rng.choices(pathways, weights=[mix[p] for p in pathways])[0]
            kept = [i for i, t in enumerate(pool) if t.pathway is pathway]
            if kept and (weights is None or any(weights[i] for i in kept)):
                pool = [pool[i] for i in kept]
                weights = None if weights is None else [weights[i] for i in kept]
        if weights is not None:
            return rng.choices(pool, weights=weights)[0]
        return pool[rng.randrange(len(pool))]

    def _place_residents_already_there(self) -> None:
        for resident in self.portfolio.residents:
            if not self.portfolio.resident_is_present(resident):
                continue
            unit = self.state.units[self.state.unit_of[resident.bedspace]]
            arrived = resident.arrived or self.state.start
            if resident.expected_leave is not None:
                leave_t = float((resident.expected_leave - self.state.start).days)
            else:
                leave_t = max(
                    1.0, math.ceil(_gamma_days(self._rng_stays, self._stay(unit.pathway)))
                )
            stay = Stay(
                resident=resident.model_copy(update={"expected_leave": None}),
                bedspace=resident.bedspace,
                pathway=unit.pathway,
                cohorts=cohorts_of(
                    resident.age, resident.gender, resident.risk, resident.flags, unit.pathway
                ),
                start_t=float((arrived - self.state.start).days),
                women_safe=_women_safe(unit.gender_policy, unit.self_contained),
            )
            self.state.occupant[resident.bedspace] = stay
            self.stays.append(stay)
            self.env.process(self._stay_ends(stay, leave_t))

    def _stay(self, pathway: Pathway) -> StayDistribution:
        return self.scenario.stays[pathway]

    # --- processes ----------------------------------------------------------------------

    def _arrivals(self, stream: _Stream) -> simpy.events.ProcessGenerator:
        while True:
            yield self.env.timeout(self._rng_arrivals.expovariate(stream.rate))
            if self.env.now >= self.horizon:
                return
            self._refer(self._draw_template(stream.pool, stream.weights))

    def _refer(self, template: Referral, moving_from: str | None = None) -> Person:
        self._next_id += 1
        referral = template.model_copy(
            update={"id": f"S{self._next_id:06d}", "referred": self.state.date_at(self.env.now)}
        )
        person = Person(
            referral, cohorts_of_referral(referral), self.env.now, moving_from=moving_from
        )
        self.people[referral.id] = person
        self.waiting[referral.id] = person
        patience = self._patience(person)
        if patience is not None:
            self.env.process(self._withdraw_after(person, patience))
        if self.scenario.allocation.every == "arrival":
            self.allocate()
        return person

    def _patience(self, person: Person) -> float | None:
        if person.moving_from is not None:
            return self.scenario.move_on.max_wait_days
        mean = self.scenario.demand.withdraw_after_days
        return None if mean is None else self._rng_patience.expovariate(1 / mean)

    def _withdraw_after(self, person: Person, patience: float) -> simpy.events.ProcessGenerator:
        yield self.env.timeout(patience)
        if person.referral.id in self.waiting:
            del self.waiting[person.referral.id]
            person.withdrawn_t = self.env.now
            if person.moving_from is not None:  # gives up waiting and moves on elsewhere
                self.state.release(person.moving_from, self.env.now)

    def move_out(self, bedspace: str) -> Stay:
        """The occupant leaves now, ahead of plan (or while waiting to move on)."""
        stay = self.state.release(bedspace, self.env.now)
        for person in self.waiting.values():
            if person.moving_from == bedspace:
                person.moving_from = None  # still referred on, no longer holding a bed-space
        return stay

    def _stay_ends(self, stay: Stay, leave_t: float) -> simpy.events.ProcessGenerator:
        yield self.env.timeout(max(0.0, leave_t - self.env.now))
        if stay.end_t is not None:  # already moved out
            return
        next_pathway = NEXT_PATHWAY.get(stay.pathway)
        share = {
            Pathway.recovery: self.scenario.move_on.emergency_to_recovery,
            Pathway.housing_first: self.scenario.move_on.recovery_to_housing_first,
        }.get(next_pathway, 0.0)  # type: ignore[arg-type]
        if next_pathway is not None and self._rng_move_on.random() < share:
            self._refer(_moving_on(stay, next_pathway), moving_from=stay.bedspace)
        else:
            self.state.release(stay.bedspace, self.env.now)

    def _daily(self) -> simpy.events.ProcessGenerator:
        for day in range(int(self.horizon)):
            yield self.env.timeout(day + ALLOCATE_AT - self.env.now)
            if self.scenario.allocation.every == "day":
                self.allocate()
            capacity = self.state.capacity(self.env.now)
            self.daily_occupancy.append(self.state.occupied / capacity if capacity else 0.0)
            self.waiting_list.append(len(self.waiting))

    # --- allocation ---------------------------------------------------------------------

    def allocate(self) -> int:
        """Offer today's free bed-spaces to the waiting list; returns how many were placed."""
        now = self.env.now
        if not self.waiting or not self.state.free_bedspaces(now):
            return 0
        people = sorted(self.waiting.values(), key=lambda p: p.referral.id)
        problem = self.state.matching_problem(now, [p.referral for p in people])
        allocation = self.scenario.allocation
        if allocation.backend != "greedy":
            # Most of a long waiting list fits none of today's free bed-spaces; the pair
            # rules alone show it, so only the others go to an exact backend, whose model
            # grows with them (nobody placeable is dropped). Greedy looks only at the pairs
            # that fit: filtering first cost it more than it saved (benchmarks/NOTES.md).
            fits = np.asarray(eligibility(problem).allowed.any(axis=1), dtype=bool)
            if not fits.any():
                return 0
            if not fits.all():
                kept = [r for r, ok in zip(problem.referrals, fits.tolist(), strict=True) if ok]
                problem = problem.model_copy(update={"referrals": kept})
        started = time.perf_counter()
        solution = self.solver(problem, allocation.backend, allocation.time_limit_s)
        self.solve_seconds += time.perf_counter() - started
        self.allocations += 1
        violations = check(problem, solution)
        if violations:
            raise HardRuleBroken.on_day(math.floor(now), violations)
        self.allocations_checked += 1
        for assignment in solution.assignments:
            self._move_in(self.waiting.pop(assignment.referral), assignment)
        return len(solution.assignments)

    def _move_in(self, person: Person, assignment: Assignment) -> None:
        now = self.env.now
        if person.moving_from is not None:
            self.state.release(person.moving_from, now)
        referral = person.referral
        unit = self.state.units[self.state.unit_of[assignment.bedspace]]
        stay = Stay(
            resident=Resident(
                id=f"P{referral.id}",
                bedspace=assignment.bedspace,
                gender=referral.gender,
                age=referral.age,
                risk=referral.risk,
                flags=referral.flags,
                support_hours=referral.support_hours,
                arrived=self.state.date_at(now),
            ),
            bedspace=assignment.bedspace,
            pathway=unit.pathway,
            cohorts=person.cohorts,
            start_t=now,
            women_safe=_women_safe(unit.gender_policy, unit.self_contained),
            team=assignment.support_team,
            person=person,
        )
        self.state.admit(stay)
        self.stays.append(stay)
        person.placed_t = now
        person.bedspace = assignment.bedspace
        # Leaving at the start of a day: a stay is whole days.
        length = max(1.0, math.ceil(_gamma_days(self._rng_stays, self._stay(unit.pathway))))
        self.env.process(self._stay_ends(stay, math.floor(now) + length + LEAVE_AT))

    # --- run ----------------------------------------------------------------------------

    def run(self) -> ReplicationResult:
        started = time.perf_counter()
        self._place_residents_already_there()
        if self.given is not None:
            for referral in self.given.waiting:
                self._refer(referral)
        for _ in range(self.scenario.demand.initial_waiting if self.templates else 0):
            self._refer(self._draw_template(self.templates))
        for stream in self._streams():
            self.env.process(self._arrivals(stream))
        self.env.process(self._daily())
        self.env.run(until=self.horizon)
        return self._figures(time.perf_counter() - started)

    def capacity_bed_days(self) -> float:
        return sum(max(0.0, self.horizon - t) for t in self.state.available_t.values())

    def _figures(self, wall_seconds: float) -> ReplicationResult:
        horizon = self.horizon
        capacity = self.capacity_bed_days()
        share = women_only_share(self.portfolio)
        cohorts: dict[str, CohortFigures] = {}
        for name in (ALL, *(c.value for c in Cohort)):

            def member(cohorts: frozenset[Cohort], name: str = name) -> bool:
                return name == ALL or Cohort(name) in cohorts

            # Referrals of the warm-up met a portfolio still filling from its start: left out.
            people = [
                p
                for p in self.people.values()
                if member(p.cohorts) and p.arrived_t >= self.scenario.warmup_days
            ]
            waits = np.array([p.placed_t - p.arrived_t for p in people if p.placed_t is not None])
            everyone_p50, everyone_p90 = wait_quantiles(
                [_last_seen_waiting(p, horizon) - p.arrived_t for p in people],
                [p.placed_t is not None for p in people],
            )
            still_waiting = sum(p.outcome == "waiting" for p in people)
            stays = [s for s in self.stays if member(s.cohorts)]
            in_view = [s for s in stays if s.end_t is None or s.end_t > 0]
            bed_days = sum(max(0.0, s.length(horizon) - max(0.0, -s.start_t)) for s in in_view)
            placed = [s for s in stays if s.person is not None]
            never = sum(p.outcome != "placed" for p in people)
            cohorts[name] = CohortFigures(
                arrivals=len(people),
                placed=len(waits),
                withdrawn=sum(p.outcome == "withdrawn" for p in people),
                waiting_at_end=still_waiting,
                never_placed=never,
                never_placed_share=never / len(people) if people else 0.0,
                wait_p50_days=float(np.percentile(waits, 50)) if len(waits) else None,
                wait_p90_days=float(np.percentile(waits, 90)) if len(waits) else None,
                wait_mean_days=float(waits.mean()) if len(waits) else None,
                wait_everyone_p50_days=everyone_p50,
                wait_everyone_p90_days=everyone_p90,
                still_waiting_share=still_waiting / len(people) if people else 0.0,
                bed_days=bed_days,
                occupancy_share=bed_days / capacity if capacity else 0.0,
                stays=len(in_view),
                los_breaches=sum(past_target(s.pathway, s.length(horizon)) for s in in_view),
                women_safe_placement_share=(
                    sum(s.women_safe for s in placed) / len(placed) if placed else None
                ),
            )
        return ReplicationResult(
            scenario=self.scenario.name,
            replication=self.replication,
            seed=self.seed,
            horizon_days=self.scenario.horizon_days,
            backend=self.scenario.allocation.backend,
            bedspaces=len(self.portfolio.bedspaces),
            women_only_share=share.women_only_share,
            women_safe_share=share.women_safe_share,
            occupancy=cohorts[ALL].bed_days / capacity if capacity else 0.0,
            bed_days=cohorts[ALL].bed_days,
            capacity_bed_days=capacity,
            daily_occupancy=self.daily_occupancy,
            waiting_list=self.waiting_list,
            cohorts=cohorts,
            allocations=self.allocations,
            allocations_checked=self.allocations_checked,
            solve_seconds=self.solve_seconds,
            wall_seconds=wall_seconds,
        )


def _scale(cohorts: frozenset[Cohort], scales: dict[Cohort, float]) -> float:
    """How much more (or less) likely a person is referred: their cohorts' factors multiplied."""
    factor = 1.0
    for cohort in cohorts:
        factor *= scales.get(cohort, 1.0)
    return factor


def _last_seen_waiting(person: Person, horizon: float) -> float:
    """When a person's wait ended: placed, withdrawn, or still waiting at the horizon."""
    if person.placed_t is not None:
        return person.placed_t
    return person.withdrawn_t if person.withdrawn_t is not None else horizon


def _women_safe(policy: GenderPolicy, self_contained: bool) -> bool:
    return policy is GenderPolicy.women_only or self_contained


def _moving_on(stay: Stay, pathway: Pathway) -> Referral:
    """A resident referred on to the next pathway, with what the rules need to know of them."""
    resident = stay.resident
    if stay.person is not None:
        return stay.person.referral.model_copy(update={"pathway": pathway})
    return Referral(
        id="pending",
        referred=date.min,
        age=resident.age,
        gender=resident.gender,
        risk=resident.risk,
        flags=resident.flags,
        support_hours=resident.support_hours,
        pathway=pathway,
    )


def run_replication(scenario: Scenario, replication: int) -> ReplicationResult:
    """One replication with the real matcher (a plain function, so worker processes can run it)."""
    return Simulation(scenario, replication).run()


__all__ = [
    "HardRuleBroken",
    "PortfolioState",
    "ReplicationResult",
    "Simulation",
    "SupportTeam",
    "run_replication",
]
