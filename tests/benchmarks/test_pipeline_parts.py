"""The pipeline-parts yardstick: each part is really switched off, every solve is checked, and
the comparison with the whole pipeline is read from the placements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import pipeline_parts
from matcher.backends import mip_prover
from matcher.backends.settings import SolverSettings

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


def test_every_part_names_a_setting_that_differs_from_the_default() -> None:
    default = SolverSettings()
    for part, options in pipeline_parts.PARTS.items():
        assert options, part
        switched = SolverSettings(**options)
        assert switched != default, part


def _record(instance: str, part: str, placed: dict[str, int], soft: float) -> dict[str, object]:
    return {
        "instance": instance,
        "part": part,
        "placed_by_priority": placed,
        "placed_bound_by_priority": {"5": 9, "4": 9, "3": 9, "2": 9, "1": 9},
        "soft_objective": soft,
        "soft_bound_given_bands": 100.0,
        "bands_proven_s": [None],
        "median_s": 1.0,
        "checker": "pass",
    }


def test_a_part_is_compared_band_by_band_before_the_soft_points() -> None:
    whole = {"5": 3, "4": 3, "3": 3, "2": 3, "1": 3}
    more_in_band_5 = {**whole, "5": 4, "1": 0}
    records = [
        _record("a", pipeline_parts.WHOLE, whole, 50.0),
        _record("b", pipeline_parts.WHOLE, whole, 50.0),
        _record("c", pipeline_parts.WHOLE, whole, 50.0),
        _record("a", "unit_cuts", more_in_band_5, 0.0),  # better: band 5 first
        _record("b", "unit_cuts", whole, 40.0),  # worse: the same bands, fewer points
        _record("c", "unit_cuts", whole, 50.0),
    ]
    [_, row] = pipeline_parts.summarise_parts(records)
    assert (row["better"], row["same"], row["worse"]) == (1, 1, 1)
    assert row["every_band_proven"] == 0


def test_a_small_family_runs_with_a_part_off_and_every_solve_checked(tmp_path: Path) -> None:
    out = pipeline_parts.run("varied_small", {2001}, 5.0, ["unit_cuts"])
    parts = [r["part"] for r in out["records"]]
    assert parts == [pipeline_parts.WHOLE, "unit_cuts"]
    assert all(r["checker"] == "pass" for r in out["records"])
    assert {row["part_off"] for row in out["summary"]} == {pipeline_parts.WHOLE, "unit_cuts"}
    pipeline_parts.write_figures(out, pipeline_parts.table(out), tmp_path, "pipeline_parts")
    written = json.loads((tmp_path / "pipeline_parts.json").read_text())
    assert written["summary"] == json.loads(json.dumps(out["summary"]))
    assert "varied_small-2001" in (tmp_path / "pipeline_parts.md").read_text()


def test_an_unknown_part_is_refused_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        pipeline_parts.main(["--parts", "unit_cuts,magic"])
    assert stopped.value.code == 2
    assert "magic" in capsys.readouterr().err
