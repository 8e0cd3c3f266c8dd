"""A band stage nothing can prove in time is held open at its best count, and the stages
after it are still solved, not left to the greedy fill."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.generator import generate
from matcher.backends import band_search
from matcher.backends.base import BANDS_PROVEN_S
from matcher.backends.classes import build_instance, lexicographic_value
from matcher.backends.cpsat import CpSatBackend
from matcher.backends.greedy import greedy_placements
from matcher.backends.settings import SolverSettings
from matcher.objective import report


def test_the_stages_after_an_open_band_are_still_searched() -> None:
    inst = build_instance(generate(1, 300, 600))
    start = greedy_placements(inst)
    # No stage may be solved whole or proved, and no LP bound closes a band: a band the
    # search leaves below its flow ceiling stays open.
    backend = CpSatBackend(
        SolverSettings(
            num_workers=2, max_stage_variables=0, band_prover="cpsat", lp_guide=False, seed=1
        )
    )
    result = backend.solve(inst, 4.0, hint=start)
    log = result.detail["stages"]
    assert isinstance(log, list)
    names = [entry["stage"] for entry in log]
    assert names == ["band_5", "band_4", "band_3", "band_2", "band_1", "soft"]
    open_bands = [entry for entry in log if entry.get("status") == "OPEN"]
    assert open_bands, "some band stays below its flow ceiling"
    first_open = names.index(open_bands[0]["stage"])
    later_bands = log[first_open + 1 : -1]
    assert later_bands and all("search_rounds" in entry for entry in later_bands)
    assert result.timed_out
    assert BANDS_PROVEN_S not in result.detail
    for entry in open_bands:
        assert entry["value"] < entry["bound"]
        assert result.stage_bounds[entry["stage"]] == entry["bound"]
    # Each band is held at no less than its start, so nothing is lost against the start.
    assert lexicographic_value(inst, result.placements)[:5] >= lexicographic_value(inst, start)[:5]
    # The report names the first open band's bound, and the run is not called proven.
    placed = lexicographic_value(inst, result.placements)
    rep = report(
        {band: placed[5 - band] for band in range(1, 6)}, placed[5], result.stage_bounds, {}
    )
    first = open_bands[0]
    assert not rep.proven and rep.gap > 0
    assert rep.placed_bound_by_priority[str(first["stage"])[-1]] == first["bound"]


def test_a_band_held_open_searches_only_its_share_of_the_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inst = build_instance(generate(1, 300, 600))
    limit = 4.0
    budgets: list[float] = []
    improve = band_search.improve_band

    def recording(settings: SolverSettings, at: Any, *args: Any, **kwargs: Any) -> Any:
        budgets.append(args[3])  # (best, value, ceiling, budget_s)
        return improve(settings, at, *args, **kwargs)

    monkeypatch.setattr(band_search, "improve_band", recording)
    backend = CpSatBackend(
        SolverSettings(
            num_workers=2, max_stage_variables=0, band_prover="cpsat", lp_guide=False, seed=1
        )
    )
    result = backend.solve(inst, limit, hint=greedy_placements(inst))
    log = result.detail["stages"]
    assert isinstance(log, list)
    assert any(entry.get("status") == "OPEN" for entry in log)
    # Every band here is held open, so every search took at most its share of the time left
    # (0.3 of it, what a band the search settles may take, came to 1.2 s for band 5),
    # and the soft stage was reached.
    assert budgets and max(budgets) <= SolverSettings().open_band_share * limit
    assert log[-1]["stage"] == "soft"


def test_the_soft_bound_given_the_bands_is_reported_with_a_band_open() -> None:
    placed = {5: 2, 4: 1, 3: 0, 2: 0, 1: 3}
    trivial = {"band_1": 9, "soft": 5_000}
    proven = {"band_5": 2, "band_4": 1, "band_3": 0, "band_2": 0, "band_1": 4, "soft": 1_200}
    rep = report(placed, 1_000, proven, trivial)
    # Band 1 is open (3 of 4): the reported bound is the trivial one, and the gap band 1's.
    assert not rep.proven and rep.bound == 5_000 and rep.gap == 0.25
    # The soft stage's own bound, for allocations placing at least these counts, is kept.
    assert rep.soft_bound_given_bands == 1_200
    # Never below what the allocation has, nor above the trivial bound.
    assert report(placed, 1_300, proven, trivial).soft_bound_given_bands == 1_300
    assert report(placed, 10, {**proven, "soft": 9_999}, trivial).soft_bound_given_bands == 5_000
    # A backend that proved nothing of the soft points (the greedy one) gives none.
    assert report(placed, 1_000, {}, trivial).soft_bound_given_bands is None
    # With every band proven it is the bound itself.
    closed = report(placed, 1_000, {**proven, "band_1": 3}, trivial)
    assert closed.bound == closed.soft_bound_given_bands == 1_200 and closed.gap > 0
