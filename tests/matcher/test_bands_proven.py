"""A solve says when it had every band's count proven optimal, from its own start."""

from __future__ import annotations

import pytest

from fixtures.generator import generate
from matcher.backends.base import BANDS_PROVEN_S
from matcher.solve import solve


@pytest.mark.parametrize("backend", ["cpsat", "pulp"])
def test_a_proven_solve_says_when_its_bands_were_proven(backend: str) -> None:
    solution = solve(generate(101, 100, 200), backend, 30.0)
    assert solution.status == "optimal"
    detail = (solution.model_extra or {})["detail"]
    assert 0 < detail[BANDS_PROVEN_S] <= solution.solve_seconds


def test_a_solve_stopped_in_a_band_claims_no_such_time() -> None:
    solution = solve(generate(1501, 1500, 3000), "cpsat", 0.5)
    assert any(
        bound > solution.placed_by_priority[band]
        for band, bound in (solution.model_extra or {})["placed_bound_by_priority"].items()
    )
    assert BANDS_PROVEN_S not in (solution.model_extra or {})["detail"]
