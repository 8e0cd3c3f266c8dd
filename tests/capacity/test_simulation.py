"""The portfolio simulation: conservation, hard rules, demand, reproducibility."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

from capacity.scenario import parse_scenario
from capacity.simulation import HardRuleBroken, Simulation
from capacity.simulation import matcher_solve as solver
from constraints.checker import check
from matcher.model import Problem, Solution


def _scenario(**changes: Any):
    data: dict[str, Any] = {
        "name": "small",
        "seed": 3,
        "horizon_days": 45,
        "portfolio": {"beds": 50, "seed": 2},
        "demand": {"referrals_per_day": 1.2, "withdraw_after_days": 30},
        "move_on": {"emergency_to_recovery": 0.4},
    }
    for key, value in changes.items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    return parse_scenario(data)


@pytest.fixture(scope="module")
def finished() -> Simulation:
    sim = Simulation(_scenario(), 0, solver=solver)
    sim.result = sim.run()  # type: ignore[attr-defined]
    return sim


def test_every_arrival_is_placed_waiting_or_withdrawn_at_the_end(finished: Simulation) -> None:
    outcomes = {pid: p.outcome for pid, p in finished.people.items()}
    assert outcomes, "nobody arrived"
    assert set(outcomes.values()) <= {"placed", "waiting", "withdrawn"}
    assert {pid for pid, o in outcomes.items() if o == "waiting"} == set(finished.waiting)
    for person in finished.people.values():
        # Exactly one ending, and only after arriving.
        endings = [t for t in (person.placed_t, person.withdrawn_t) if t is not None]
        assert len(endings) <= 1
        assert all(t >= person.arrived_t for t in endings)
    figures = finished.result.cohorts["all"]  # type: ignore[attr-defined]
    assert figures.arrivals == len(outcomes)
    assert figures.placed + figures.withdrawn + figures.waiting_at_end == figures.arrivals
    placed = [s for s in finished.stays if s.person is not None]
    assert len(placed) == figures.placed


def test_bed_days_never_exceed_capacity(finished: Simulation) -> None:
    horizon = finished.horizon
    by_bed = defaultdict(list)
    for stay in finished.stays:
        by_bed[stay.bedspace].append(stay)
    for bed, stays in by_bed.items():
        stays.sort(key=lambda s: s.start_t)
        for earlier, later in zip(stays, stays[1:], strict=False):
            assert earlier.end_t is not None and earlier.end_t <= later.start_t, bed
        for stay in stays:
            if stay.person is not None:  # placed in the simulation: only once available
                assert stay.start_t >= finished.state.available_t[bed]
    result = finished.result  # type: ignore[attr-defined]
    assert result.bed_days <= result.capacity_bed_days
    assert all(0 <= day <= 1 for day in result.daily_occupancy)
    assert len(result.daily_occupancy) == int(horizon)


def test_every_allocation_passes_the_checker() -> None:
    seen: list[tuple[Problem, Solution]] = []

    def recording(problem: Problem, backend: str, limit: float) -> Solution:
        solution = solver(problem, backend, limit)
        seen.append((problem, solution))
        return solution

    sim = Simulation(_scenario(horizon_days=30), 1, solver=recording)
    result = sim.run()
    assert seen and result.allocations == len(seen) == result.allocations_checked
    assert sum(len(s.assignments) for _, s in seen) == result.cohorts["all"].placed
    for problem, solution in seen:
        assert check(problem, solution) == []


def test_a_broken_hard_rule_stops_the_run() -> None:
    def reckless(problem: Problem, backend: str, limit: float) -> Solution:
        # Two people in one bed-space.
        solution = solver(problem, backend, limit)
        if len(problem.referrals) >= 2 and solution.assignments:
            bed = solution.assignments[0].bedspace
            extra = problem.referrals[-1].id
            if extra != solution.assignments[0].referral:
                broken = [
                    *solution.assignments,
                    solution.assignments[0].model_copy(update={"referral": extra, "bedspace": bed}),
                ]
                return solution.model_copy(update={"assignments": broken})
        return solution

    with pytest.raises(HardRuleBroken, match="one_person_per_bedspace"):
        Simulation(_scenario(horizon_days=30), 0, solver=reckless).run()


def test_same_seed_same_figures() -> None:
    first = Simulation(_scenario(horizon_days=30), 4, solver=solver).run()
    second = Simulation(_scenario(horizon_days=30), 4, solver=solver).run()
    volatile = {"wall_seconds", "solve_seconds"}
    assert first.model_dump(exclude=volatile) == second.model_dump(exclude=volatile)
    other = Simulation(_scenario(horizon_days=30), 5, solver=solver).run()
    assert other.model_dump(exclude=volatile) != first.model_dump(exclude=volatile)


def test_twice_the_demand_never_waits_less() -> None:
    def waiting(rate: float, replication: int) -> tuple[float, int]:
        scenario = _scenario(demand={"referrals_per_day": rate}, horizon_days=40)
        result = Simulation(scenario, replication, solver=solver).run()
        figures = result.cohorts["all"]
        return sum(result.waiting_list), figures.never_placed

    for replication in range(2):
        base_wait, base_unplaced = waiting(1.0, replication)
        double_wait, double_unplaced = waiting(2.0, replication)
        assert double_wait >= base_wait
        assert double_unplaced >= base_unplaced


def test_move_on_keeps_the_bed_until_placed() -> None:
    sim = Simulation(_scenario(move_on={"emergency_to_recovery": 1.0}), 0, solver=solver)
    sim.run()
    moving = [p for p in sim.people.values() if p.moving_from is not None]
    assert moving, "nobody moved on"
    for person in moving:
        holder = sim.state.occupant.get(person.moving_from)  # type: ignore[arg-type]
        if person.outcome == "waiting":  # still in their old bed-space
            assert holder is not None
