"""The runner on the tiny family writes results.json and a table generated from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.cli import main
from benchmarks.families import TINY
from benchmarks.report import MASK_COLUMNS, SOLVE_COLUMNS, render_markdown
from benchmarks.runner import BenchOptions, call_script, run_bench
from benchmarks.solves import BACKENDS, solver_available, solver_status

RECORD_FIELDS = {"instance", "family", "seed", "size", "backend", "git_sha", "machine", "outcome"}


def header(columns: tuple[str, ...]) -> str:
    return "| " + " | ".join(columns) + " |"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    options = BenchOptions(
        family="tiny", output_dir=out, repeat=1, time_limit_s=5, progress=False, scripts=False
    )
    return out, run_bench(options)


def test_results_json_has_a_record_per_instance_and_backend(
    tiny_run: tuple[Path, dict[str, Any]],
) -> None:
    out, results = tiny_run
    saved = json.loads((out / "results.json").read_text())
    assert saved["family"] == "tiny" and saved["git_sha"] and saved["machine"]["cores"]
    pairs = {(r["instance"], r["backend"]) for r in saved["solves"]}
    assert pairs == {(spec.name, backend) for spec in TINY for backend in BACKENDS}
    for solve in saved["solves"]:
        assert solve.keys() >= RECORD_FIELDS
        expected = {"available": "measured", "absent": "skipped"}.get(solver_status()[0])
        assert solve["outcome"] == expected, solve.get("error")
    assert saved["ok"] == (saved["failures"] == [])


def test_solve_records_carry_the_solution_summary_once_a_solver_exists(
    tiny_run: tuple[Path, dict[str, Any]],
) -> None:
    _, results = tiny_run
    if not solver_available():
        pytest.skip("matcher.solve is not in this checkout yet")
    for solve in results["solves"]:
        assert {"status", "objective", "bound", "gap", "placed_by_band", "median_s"} <= set(solve)
        assert solve["checker"] == "pass", solve["violation_examples"]
        assert solve["peak_rss_bytes"] > 0


def test_mask_record_compares_with_the_plain_baseline(
    tiny_run: tuple[Path, dict[str, Any]],
) -> None:
    _, results = tiny_run
    mask = results["mask"]
    assert mask["outcome"] == "measured" and mask["repeat"] == 5
    assert mask["sample_agrees"] is True
    assert mask["baseline_extrapolated_s"] > 0 and mask["peak_rss_bytes"] > 0


def test_markdown_is_generated_from_the_json(tiny_run: tuple[Path, dict[str, Any]]) -> None:
    out, _ = tiny_run
    table = (out / "results.md").read_text()
    assert table == render_markdown(json.loads((out / "results.json").read_text()))
    assert header(MASK_COLUMNS) in table
    assert "bedmatch bench --family tiny --repeat 1" in table
    if solver_available():
        assert header(SOLVE_COLUMNS) in table


def test_solve_table_compares_each_backend_with_greedy() -> None:
    def solve(backend: str, seconds: float, soft: float) -> dict[str, Any]:
        return {
            "instance": "small", "size": "100x200", "stress": None, "backend": backend,
            "outcome": "measured", "status": "optimal", "median_s": seconds, "min_s": seconds,
            "max_s": seconds, "repeat": 1, "objective": 5.0, "bound": 5.0, "gap": 0.0,
            "placed_by_band": {"5": 2, "4": 1, "3": 0, "2": 0, "1": 3},
            "soft_objective": soft, "violations": 0, "peak_rss_bytes": 200 << 20,
        }  # fmt: skip

    table = render_markdown({"solves": [solve("cpsat", 4.0, 900.0), solve("greedy", 2.0, 700.0)]})
    assert header(SOLVE_COLUMNS) in table
    (cpsat_row,) = [line for line in table.splitlines() if line.startswith("| small | ")][:1]
    cells = [cell.strip() for cell in cpsat_row.strip("|").split("|")]
    row = dict(zip(SOLVE_COLUMNS, cells, strict=True))
    assert row["backend"] == "cpsat" and row["time × greedy"] == "2.0"
    assert row["soft − greedy"] == "+200" and row["placed 5/4/3/2/1"] == "2/1/0/0/3"


PLACED = {"5": 2, "4": 1, "3": 0, "2": 0, "1": 3}


def cpsat_record(instance: str, **fields: Any) -> dict[str, Any]:
    """A measured cpsat solve record of `instance`, `fields` over the defaults."""
    return {
        "instance": instance, "size": "100x200", "stress": None, "backend": "cpsat",
        "outcome": "measured", "status": "feasible", "median_s": 1.0, "min_s": 1.0,
        "max_s": 1.0, "repeat": 1, "objective": 5.0, "bound": 5.0, "gap": 0.0,
        "placed_by_band": PLACED, "placed_by_priority": PLACED,
        "placed_bound_by_priority": PLACED, "soft_objective": 1.0, "violations": 0,
        "peak_rss_bytes": 200 << 20, **fields,
    }  # fmt: skip


def solve_rows(records: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The solve table's rows of `records`, by instance, each cell by its column."""
    names = {record["instance"] for record in records}
    rows = {}
    for line in render_markdown({"solves": records}).splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == len(SOLVE_COLUMNS) and cells[0] in names:
            rows[cells[0]] = dict(zip(SOLVE_COLUMNS, cells, strict=True))
    return rows


def test_solve_table_gives_the_soft_gap_given_the_bands_even_with_a_band_open() -> None:
    band_1_open = {"objective": 900.0, "bound": 5000.0, "gap": 0.25, "soft_objective": 900.0}
    rows = solve_rows(
        [
            cpsat_record("bounded", soft_bound_given_bands=1000.0, **band_1_open),
            cpsat_record("unbounded", soft_bound_given_bands=None, **band_1_open),
        ]
    )
    assert rows["bounded"]["gap"] == "25.000%"  # band 1's, the first open part
    assert rows["bounded"]["soft gap"] == "10.000%"
    assert rows["unbounded"]["soft gap"] == "–"


def test_solve_table_names_each_open_band_with_its_bound() -> None:
    rows = solve_rows(
        [
            cpsat_record("proven"),
            cpsat_record("open", placed_bound_by_priority={**PLACED, "1": 1248}),
        ]
    )
    assert rows["proven"]["open bands (bound)"] == "–"
    assert rows["open"]["open bands (bound)"] == "1 (1,248)"


def test_solve_table_gives_the_median_time_the_bands_were_proven_over_the_solves_that_did() -> None:
    proven: dict[str, list[float | None]] = {
        "all": [8.0, 6.0, 7.5],
        "some": [5.0, None],
        "none": [None],
    }
    rows = solve_rows(
        [
            cpsat_record(name, repeat=len(times), bands_proven_s=times)
            for name, times in proven.items()
        ]
    )
    column = {name: row["bands proven s (median)"] for name, row in rows.items()}
    assert column == {"all": "7.50", "some": "5.00 (1 of 2)", "none": "–"}


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "--family", "enormous"],
        ["bench", "--family", "tiny", "--backends", "cpsat,gurobi"],
        ["bench", "--family", "tiny", "--repeat", "0"],
        ["bench", "--family", "tiny", "--time-limit", "-1"],
    ],
)
def test_bad_arguments_exit_2_naming_the_option(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "-o", str(tmp_path)]) == 2
    assert "--" in capsys.readouterr().err
    assert not (tmp_path / "results.json").exists()


def test_contributed_scripts_get_only_the_arguments_they_accept() -> None:
    offered = {"beds": 200, "repeat": 2, "family": "small", "quick": True}
    result = call_script("tests.benchmarks.script_examples", offered, timeout_s=60)
    assert result["outcome"] == "measured"
    assert result["arguments"] == {"beds": 200, "repeat": 2}
    assert (result["beds"], result["repeat"], result["samples"]) == (200, 2, 7)


def test_absent_scripts_are_skipped_and_unsatisfiable_ones_are_errors() -> None:
    absent = call_script("benchmarks.no_such_script", {"beds": 1})
    assert absent["outcome"] == "skipped"
    needy = call_script("tests.benchmarks.needs_more", {"beds": 1})
    assert needy["outcome"] == "error" and "connection_string" in needy["error"]


def test_published_table_is_generated_from_the_published_json() -> None:
    published = Path(__file__).resolve().parents[2] / "benchmarks"
    results = json.loads((published / "RESULTS.json").read_text())
    assert (published / "RESULTS.md").read_text() == render_markdown(results)
    assert results["command"].startswith("bedmatch bench --family ")
