"""The solver's settings: one frozen object, checked when made, and read by every part,
the worker processes included."""

from __future__ import annotations

import dataclasses

import pytest

from matcher.backends import cpsat, mip_prover
from matcher.backends.cpsat import CpSatBackend
from matcher.backends.lp_worker import BackgroundLp
from matcher.backends.priced_lp import priced_lp
from matcher.backends.settings import SolverSettings
from tests.matcher.test_lp_worker import SoftLp


def test_the_settings_are_frozen() -> None:
    settings = SolverSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.num_workers = 2  # type: ignore[misc]


def test_an_unknown_band_prover_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="band_prover"):
        SolverSettings(band_prover="gurobi")


def test_an_unknown_band_mip_solver_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="band_mip_solver"):
        SolverSettings(band_mip_solver="gurobi")


def test_without_highspy_the_bands_are_proved_by_cbc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpsat.highs_worker, "available", lambda: False)
    backend = CpSatBackend(SolverSettings(num_workers=2, band_mip_solver="highs"))
    assert backend.settings.band_mip_solver == "cbc"


def test_without_cbc_the_backend_proves_bands_with_cpsat_leaving_the_settings_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpsat.mip_prover, "available", lambda: False)
    asked = SolverSettings(num_workers=2)
    backend = CpSatBackend(asked)
    assert backend.settings.band_prover == "cpsat" and asked.band_prover == "cbc"
    assert dataclasses.replace(backend.settings, band_prover="cbc") == asked


@pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")
def test_the_lp_worker_prices_with_the_settings_it_is_given() -> None:
    lp = SoftLp.medium_small()
    full, nz, weights, at_least = lp.full, lp.nz, lp.weights, lp.at_least
    free, objective, start = lp.free, lp.objective, lp.start
    # Few columns a round: more rounds than the defaults take, in process and in the worker.
    few = SolverSettings(add_at_least=50, most_per_round=50, warm_start_most=10)
    held = lp.held()
    default = priced_lp(held, free, objective, start, 30.0, dual_simplex=True)
    here = priced_lp(held, free, objective, start, 30.0, dual_simplex=True, settings=few)
    aside = BackgroundLp(
        full, nz, weights, at_least, free, objective, start, 30.0, dual_simplex=True, settings=few
    )
    out = aside.outcome(wait_until=float("inf"))
    assert out is not None and here.bound is not None and out.bound is not None
    assert here.rounds > default.rounds
    assert (out.rounds, out.columns) == (here.rounds, here.columns)
    assert out.bound == pytest.approx(here.bound, rel=1e-9)
