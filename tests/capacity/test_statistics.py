"""Honest figures: intervals cover the truth at about their stated rate and never leave what
is possible; waits count the people still waiting."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from capacity.replications import run_replications
from capacity.report import markdown
from capacity.scenario import parse_scenario
from capacity.simulation import ALL, Simulation
from capacity.statistics import estimate, wait_quantiles
from matcher.model import Problem, Solution

counts = st.lists(st.one_of(st.none(), st.floats(0, 1e6)), max_size=12)
shares = st.lists(st.floats(0, 1), min_size=1, max_size=12)


@given(counts)
def test_an_interval_on_counts_never_goes_below_zero(values: list[float | None]) -> None:
    figure = estimate(values)
    if figure.low is not None and figure.high is not None:
        assert 0 <= figure.low <= figure.high
        assert figure.mean is not None and figure.low <= figure.mean + 1e-9


@given(shares)
def test_an_interval_on_shares_stays_within_zero_and_one(values: list[float]) -> None:
    figure = estimate(values, 0.0, 1.0)
    if figure.low is not None and figure.high is not None:
        assert 0 <= figure.low <= figure.high <= 1


def test_intervals_cover_a_known_mean_about_95_times_in_100() -> None:
    """Three to ten replications of a skewed, often-zero count (as a small cohort's is):
    the clipped t interval still covers the true mean at about its stated rate."""
    rng = np.random.default_rng(7)
    truth, trials, covered = 2.0, 4000, 0
    for trial in range(trials):
        figure = estimate(rng.poisson(truth, size=3 + trial % 8).astype(float).tolist())
        low = figure.low if figure.low is not None else figure.mean
        high = figure.high if figure.high is not None else figure.mean
        assert low is not None and high is not None
        covered += low <= truth <= high
    assert 0.92 <= covered / trials <= 0.99


@given(st.lists(st.integers(0, 400), min_size=1, max_size=60))
def test_with_nobody_still_waiting_the_wait_quantiles_are_the_plain_ones(waits: list[int]) -> None:
    p50, p90 = wait_quantiles([float(w) for w in waits], [True] * len(waits))
    assert p50 == float(np.quantile(waits, 0.5, method="inverted_cdf"))
    assert p90 == float(np.quantile(waits, 0.9, method="inverted_cdf"))


def test_people_still_waiting_lengthen_the_wait_instead_of_vanishing() -> None:
    placed_quickly = [1.0, 2.0, 3.0]
    still_waiting = [100.0] * 7
    p50, p90 = wait_quantiles(placed_quickly + still_waiting, [True] * 3 + [False] * 7)
    assert p50 is None and p90 is None  # 30% placed within the horizon: neither is reached
    naive = float(np.median(placed_quickly))
    assert naive == 2.0  # what counting the placed alone would have said


def nobody_is_placed(problem: Problem, backend: str, time_limit_s: float) -> Solution:
    return Solution(status="feasible", backend="none")


SMALL = {
    "seed": 2,
    "horizon_days": 30,
    "portfolio": {"beds": 20, "seed": 3},
    "demand": {"referrals_per_day": 1.0, "withdraw_after_days": None},
}


def test_when_nobody_is_placed_everyone_is_still_waiting() -> None:
    scenario = parse_scenario(SMALL)
    figures = Simulation(scenario, 0, solver=nobody_is_placed).run().cohorts[ALL]
    assert figures.arrivals > 0
    assert figures.wait_p50_days is None  # no placed wait to report
    assert figures.wait_everyone_p50_days is None and figures.wait_everyone_p90_days is None
    assert figures.still_waiting_share == 1.0
    assert figures.never_placed_share == 1.0


def test_a_warm_up_leaves_its_referrals_out_and_the_report_says_so() -> None:
    scenario = parse_scenario({**SMALL, "warmup_days": 10})
    everyone = Simulation(parse_scenario(SMALL), 0, solver=nobody_is_placed).run()
    after = Simulation(scenario, 0, solver=nobody_is_placed).run()
    assert 0 < after.cohorts[ALL].arrivals < everyone.cohorts[ALL].arrivals
    (summary,) = run_replications([scenario], 2, workers=1, progress=False)
    assert "| 10 days |" in markdown([summary])


def test_replications_run_until_the_headline_figures_are_precise() -> None:
    scenario = parse_scenario(SMALL)
    (loose,) = run_replications([scenario], 2, workers=1, progress=False, precision=0.5)
    (tight,) = run_replications(
        [scenario], 2, workers=1, progress=False, precision=1e-6, max_replications=4
    )
    assert loose.precision_reached is True
    assert tight.replications == 4 and tight.precision_reached is False
    assert "not reached: the cap stopped it" in markdown([tight])
