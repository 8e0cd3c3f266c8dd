"""The band-bounds yardstick: every bound it reports lies between a count some allocation
reaches and the band's LP bound, and its table is generated from its figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import band_bounds
from benchmarks.families import FAMILIES
from matcher import solve as solving
from matcher.backends import mip_prover

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


def test_the_bounds_of_a_band_lie_between_a_count_reached_and_its_lp(tmp_path: Path) -> None:
    spec = FAMILIES["varied_small"].instances[0]
    greedy = solving.solve(spec.build(), "greedy", 10.0, explain=False)
    placed = dict(greedy.placed_by_priority)
    # Greedy's counts, band 1 claimed open: the bands above are held at counts an
    # allocation reaches, so every bound of band 1 is at least greedy's count there.
    solve = {
        "seed": spec.seed,
        "family": "varied_small",
        "backend": "cpsat",
        "placed_by_priority": placed,
        "placed_bound_by_priority": {**placed, "1": placed["1"] + 1},
    }
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"git_sha": "abc", "solves": [solve]}))
    out = band_bounds.run("varied_small", {spec.seed}, str(results), "open")
    [row] = out["rows"]
    assert row["band"] == 1 and row["found"] == placed["1"]
    assert row["found"] <= row["unit_bound"]["floor"] <= row["lp_floor"]
    assert row["found"] <= row["cuts"]["floor"] <= row["lp_floor"]
    assert spec.name in band_bounds.table(out)
