"""A state machine drives the simulated portfolio: refer, allocate, move out, advance a day."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from capacity.portfolio import referral_templates
from capacity.scenario import parse_scenario
from capacity.simulation import Simulation, Stay
from capacity.simulation import matcher_solve as solver
from constraints.checker import resident_violations
from matcher.model import Resident

SCENARIO = parse_scenario(
    {
        "seed": 11,
        "horizon_days": 400,
        "portfolio": {"beds": 30, "seed": 4},
        "demand": {"referrals_per_day": 0, "withdraw_after_days": 20},
    }
)


class Portfolio(RuleBasedStateMachine):
    @initialize(replication=st.integers(0, 3))
    def start(self, replication: int) -> None:
        self.sim = Simulation(SCENARIO, replication, solver=solver)
        self.sim._place_residents_already_there()
        self.templates = referral_templates(SCENARIO.portfolio)
        self.placed_before = 0

    @rule(picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=4))
    def refer(self, picks: list[int]) -> None:
        for pick in picks:
            self.sim._refer(self.templates[pick % len(self.templates)])

    @rule()
    def allocate(self) -> None:
        waiting_before = set(self.sim.waiting)
        placed = self.sim.allocate()
        assert len(waiting_before) - len(self.sim.waiting) == placed

    @precondition(lambda self: self.sim.state.occupied > 0)
    @rule(pick=st.integers(0, 10_000))
    def move_out(self, pick: int) -> None:
        beds = sorted(self.sim.state.occupant)
        self.sim.move_out(beds[pick % len(beds)])

    @precondition(lambda self: self.sim.state.occupied > 0)
    @rule(pick=st.integers(0, 10_000))
    def admit_into_an_occupied_bedspace_is_refused(self, pick: int) -> None:
        beds = sorted(self.sim.state.occupant)
        bed = beds[pick % len(beds)]
        before = dict(self.sim.state.occupant)
        intruder = Stay(
            resident=Resident(id="PX", bedspace=bed, gender="man", age=30),
            bedspace=bed,
            pathway=self.sim.state.units[self.sim.state.unit_of[bed]].pathway,
            cohorts=frozenset(),
            start_t=self.sim.env.now,
            women_safe=False,
        )
        try:
            self.sim.state.admit(intruder)
        except ValueError:
            pass
        else:
            raise AssertionError("two people admitted to one bed-space")
        assert self.sim.state.occupant == before

    @rule(days=st.integers(1, 20))
    def advance(self, days: int) -> None:
        self.sim.env.run(until=self.sim.env.now + days)

    @invariant()
    def never_over_capacity(self) -> None:
        state, now = self.sim.state, self.sim.env.now
        assert state.occupied <= state.capacity(now)
        assert all(state.is_available(bed, now) for bed in state.occupant)

    @invariant()
    def caseloads_within_capacity(self) -> None:
        state = self.sim.state
        for team_id, load in state.team_load.items():
            team = state.teams[team_id]
            assert team.current_caseload <= load <= team.caseload_capacity
            carried = sum(1 for s in state.occupant.values() if s.team == team_id)
            assert load == team.current_caseload + carried

    @invariant()
    def the_people_in_place_keep_every_hard_rule(self) -> None:
        assert resident_violations(self.sim.state.snapshot(self.sim.env.now)) == []

    @invariant()
    def everyone_is_placed_waiting_or_withdrawn(self) -> None:
        outcomes = [p.outcome for p in self.sim.people.values()]
        assert outcomes.count("waiting") == len(self.sim.waiting)


Portfolio.TestCase.settings = settings(max_examples=10, stateful_step_count=10, deadline=None)
TestPortfolio = Portfolio.TestCase
