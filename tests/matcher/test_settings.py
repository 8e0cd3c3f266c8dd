"""The solver's settings: one frozen object, checked when made, and read by every part,
the worker processes included."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fixtures.generator import generate
from matcher.backends import cpsat, mip_prover
from matcher.backends.classes import build_instance, build_model, encode
from matcher.backends.cpsat import CpSatBackend
from matcher.backends.greedy import greedy_placements
from matcher.backends.linear import Row
from matcher.backends.lp_worker import BackgroundLp
from matcher.backends.priced_lp import priced_lp, starting_columns
from matcher.backends.settings import SolverSettings
from matcher.backends.submodel import SparseModel
from matcher.objective import stages


def test_the_settings_are_frozen() -> None:
    settings = SolverSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.num_workers = 2  # type: ignore[misc]


def test_an_unknown_band_prover_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="band_prover"):
        SolverSettings(band_prover="gurobi")


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
    inst = build_instance(generate(1501, 300, 600))
    layout = build_model(inst)
    full = SparseModel.of(layout.model)
    incumbent = encode(inst, layout, greedy_placements(inst))
    band_5, *_, soft = stages(
        inst.tables.referrals.priority[inst.pair_ref], inst.pair_points, inst.pair_group_priority()
    )
    nz = np.flatnonzero(band_5.coefficients)
    weights, at_least = band_5.coefficients[nz], int(incumbent[nz].sum())
    free = np.ones(full.n_vars, dtype=bool)
    objective = np.zeros(full.n_vars, dtype=np.int64)
    objective[: layout.n_pairs] = soft.coefficients
    start = starting_columns(
        inst.pair_ref, inst.pair_points, soft.active, incumbent, full.n_vars, per_referral=1
    )
    # Few columns a round: more rounds than the defaults take, in process and in the worker.
    few = SolverSettings(add_at_least=50, most_per_round=50, warm_start_most=10)
    held = full.with_rows([Row(nz, weights, at_least, None)])
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
