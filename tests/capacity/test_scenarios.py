"""Scenario files, replications (locally and on a Dask cluster), the report and the command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from api.cli import main
from capacity.portfolio import GivenPortfolio, build_portfolio, redesignate_women_only
from capacity.quotas import women_only_share
from capacity.replications import run_replications
from capacity.report import write_report
from capacity.scenario import PortfolioSpec, load_scenario, parse_scenario
from capacity.simulation import Simulation
from capacity.simulation import matcher_solve as solver
from capacity.statistics import estimate
from constraints.checker import resident_violations
from fixtures.generator import generate
from matcher.errors import ProblemInvalid

SCENARIOS = Path(__file__).parents[2] / "capacity" / "scenarios"

SMALL = {
    "seed": 2,
    "horizon_days": 20,
    "portfolio": {"beds": 30, "seed": 3},
    "demand": {"referrals_per_day": 1.0},
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"demand": {"referrals_per_day": -1}}, "demand.referrals_per_day"),
        ({"demand": {"cohorts": {"women": -0.5}}}, "demand.cohorts"),
        ({"demand": {"cohorts": {"pensioners": 1}}}, "demand.cohorts.pensioners"),
        ({"demand": {"pathway_mix": {"emergency": 1.5}}}, "demand.pathway_mix"),
        ({"demand": {"pathway_mix": {"hostel": 1.0}}}, "demand.pathway_mix.hostel"),
        ({"demand": {"cohort_scale": {"women": 11}}}, "demand.cohort_scale"),
        ({"demand": {"cohort_scale": {"elves": 2}}}, "demand.cohort_scale.elves"),
        ({"move_on": {"emergency_to_recovery": 1.2}}, "move_on.emergency_to_recovery"),
        ({"portfolio": {"women_only_share": 2}}, "portfolio.women_only_share"),
        ({"stays": {"respite": {"mean_days": 5, "sd_days": 1}}}, "stays.respite"),
        ({"allocation": {"backend": "magic"}}, "allocation.backend"),
        ({"horizon": 10}, "horizon"),
    ],
)
def test_a_bad_scenario_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ProblemInvalid) as raised:
        parse_scenario(change)
    assert field in {issue.path for issue in raised.value.issues}


def test_simulate_exits_2_naming_the_bad_field(tmp_path: Path, capsys) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"demand": {"cohorts": {"pensioners": 1}}}))
    assert main(["simulate", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "demand.cohorts.pensioners" in err and "unknown cohort" in err
    assert "Traceback" not in err


def test_the_example_scenarios_load() -> None:
    names = {load_scenario(path).name for path in SCENARIOS.glob("*.yaml")}
    assert {"base", "women_only_35", "housing_first_plus_10"} <= names


def test_portfolio_changes_reach_their_target_without_breaking_a_rule() -> None:
    base = build_portfolio(PortfolioSpec(beds=200, seed=5))
    more_women = build_portfolio(PortfolioSpec(beds=200, seed=5, women_only_share=0.35))
    assert women_only_share(base).women_only_share < 0.35
    assert women_only_share(more_women).women_only_share >= 0.35
    assert resident_violations(more_women) == []
    flats = build_portfolio(PortfolioSpec(beds=200, seed=5, extra_housing_first=10))
    assert len(flats.bedspaces) == len(base.bedspaces) + 10
    kinds = [u.kind.value for u in flats.units]
    assert (
        kinds.count("housing_first")
        == [u.kind.value for u in base.units].count("housing_first") + 10
    )


def test_estimate_interval_contains_the_mean_and_narrows_with_agreement() -> None:
    wide = estimate([1.0, 5.0, 9.0])
    narrow = estimate([4.9, 5.0, 5.1])
    assert wide.mean == narrow.mean == pytest.approx(5.0)
    assert wide.low < narrow.low <= 5.0 <= narrow.high < wide.high  # type: ignore[operator]
    assert estimate([None, None]).mean is None


def test_replications_on_a_local_dask_cluster_match_local_processes() -> None:
    from distributed import LocalCluster

    scenario = parse_scenario(SMALL)
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        on_dask = run_replications([scenario], 3, cluster=cluster, solver=solver, progress=False)
    in_process = run_replications([scenario], 3, workers=1, solver=solver, progress=False)
    volatile = {"seconds_per_replication"}
    assert on_dask[0].model_dump(exclude=volatile) == in_process[0].model_dump(exclude=volatile)
    assert on_dask[0].replications == 3


def test_report_writes_figures_and_plots(tmp_path: Path) -> None:
    first = parse_scenario({**SMALL, "name": "first"})
    second = parse_scenario({**SMALL, "name": "second", "demand": {"referrals_per_day": 2.0}})
    summaries = run_replications([first, second], 2, workers=1, solver=solver, progress=False)
    written = write_report(summaries, tmp_path)
    data = json.loads(written["figures"].read_text())
    assert [s["scenario"] for s in data["scenarios"]] == ["first", "second"]
    assert set(data["scenarios"][0]["cohorts"]) == {
        "all",
        "young_people",
        "under_18s",
        "care_leavers",
        "households",
        "women",
        "da_victims",
        "high_risk",
        "housing_first",
    }
    for path in written.values():
        assert path.stat().st_size > 0
    assert written["wait_p90_days"].read_bytes()[:4] == b"\x89PNG"
    assert "| first |" in written["report"].read_text()


def test_a_cohort_scaled_to_zero_is_never_referred_and_a_doubled_one_grows() -> None:
    base = parse_scenario(SMALL)
    none = parse_scenario({**SMALL, "demand": {**SMALL["demand"], "cohort_scale": {"women": 0}}})
    more = parse_scenario({**SMALL, "demand": {**SMALL["demand"], "cohort_scale": {"women": 3}}})
    figures = [
        Simulation(s, 0, solver=solver).run().cohorts["women"].arrivals for s in (base, none, more)
    ]
    assert figures[0] > 0
    assert figures[1] == 0
    assert figures[2] > figures[0]


def test_a_given_portfolio_is_simulated_with_its_own_people_waiting() -> None:
    problem = generate(5, 12, 20)
    given = GivenPortfolio.of(problem, tuple(problem.referrals), tuple(problem.referrals))
    scenario = parse_scenario({"seed": 1, "horizon_days": 15, "demand": {"referrals_per_day": 0}})
    result = Simulation(scenario, 0, solver=solver, given=given).run()
    assert result.bedspaces == len(problem.bedspaces)
    assert result.cohorts["all"].arrivals == len(problem.referrals)


@given(
    seed=st.integers(0, 10_000),
    beds=st.integers(20, 150),
    share=st.floats(0, 1),
)
@settings(max_examples=25, deadline=None)
def test_a_live_redesignation_moves_nobody_and_reaches_what_it_says(
    seed: int, beds: int, share: float
) -> None:
    """Without moving anyone, no unit where a man or non-binary person lives is turned
    women-only, nobody leaves, no rule is newly broken, and the share it says it reached is
    the share of the portfolio it returns; it stops short only when no unit is left to turn."""
    problem = generate(seed, 0, beds)
    turned = redesignate_women_only(problem, share, move_others=False)
    assert turned.problem.residents == problem.residents
    unit_of = {b.id: b.unit for b in problem.bedspaces}
    housing_others = {unit_of[r.bedspace] for r in problem.residents if r.gender.value != "woman"}
    assert not set(turned.units) & housing_others
    before = {(v.rule, v.bedspace) for v in resident_violations(problem)}
    assert {(v.rule, v.bedspace) for v in resident_violations(turned.problem)} <= before
    assert turned.share == women_only_share(turned.problem).women_only_share
    if turned.women_only_bedspaces < share * turned.bedspaces:
        assert not [
            u
            for u in turned.problem.units
            if u.kind.value == "adult_mixed"
            and u.gender_policy.value != "women_only"
            and u.id not in housing_others
            and any(unit_of[b.id] == u.id for b in problem.bedspaces)
        ]
