"""The flow relaxation: its ceilings are never below a real allocation, and its guide is safe."""

from __future__ import annotations

from hypothesis import given, settings

from constraints.checker import check
from fixtures import generate
from matcher.backends.classes import build_instance, lexicographic_value
from matcher.backends.greedy import greedy_placements
from matcher.backends.relaxation import FlowRelaxation, guided_placements
from matcher.model import Problem, Solution
from matcher.objective import BANDS
from matcher.solve import solve
from tests.strategies import problems


def _cumulative(solution: Solution) -> dict[int, int]:
    counts = solution.placed_by_priority
    return {band: sum(counts[str(b)] for b in BANDS if b >= band) for band in BANDS}


@settings(max_examples=25)
@given(problems(max_referrals=7, max_beds=8))
def test_ceilings_never_cut_off_the_optimum(problem: Problem) -> None:
    optimum = solve(problem, backend="cpsat", time_limit_s=10)
    ceilings = FlowRelaxation(build_instance(problem)).band_ceilings()
    for band, placed in _cumulative(optimum).items():
        assert placed <= ceilings[band]


@settings(max_examples=25)
@given(problems(max_referrals=7, max_beds=8))
def test_guided_greedy_breaks_no_rule(problem: Problem) -> None:
    inst = build_instance(problem)
    placements = guided_placements(inst, FlowRelaxation(inst).guide())
    solution = Solution.model_validate(
        {
            "assignments": [
                {
                    "referral": inst.tables.referrals.ids[r],
                    "bedspace": inst.tables.beds.ids[b],
                    "support_team": None if t is None else inst.tables.teams.ids[t],
                }
                for r, b, t in placements
            ]
        }
    )
    assert check(problem, solution) == []


def test_relaxation_proves_the_urgent_bands_and_guides_past_greedy() -> None:
    inst = build_instance(generate(1, 300, 600))
    relaxation = FlowRelaxation(inst)
    ceilings = relaxation.band_ceilings()
    guided = guided_placements(inst, relaxation.guide())
    greedy = greedy_placements(inst)
    assert lexicographic_value(inst, guided)[:5] >= lexicographic_value(inst, greedy)[:5]
    # Ceilings are nested: more bands, more room.
    assert [ceilings[b] for b in BANDS] == sorted(ceilings[b] for b in BANDS)
    priority = inst.tables.referrals.priority
    band_5 = sum(1 for r, _, _ in guided if priority[r] == 5)
    assert band_5 == ceilings[5]  # band 5 placed in full: proven without a MIP
