"""`bedmatch solve`: exit codes and the shape of the JSON it writes."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from api.cli import main
from api.commands.stage_progress import stage_progress
from constraints.checker import check
from fixtures.generator import generate, generate_json
from matcher.model import load_problem, parse_solution
from matcher.progress import stage_entry
from matcher.solve import solve


@pytest.fixture
def problem_file(tmp_path: Path) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(generate(3, 30, 60).model_dump_json())
    return path


@pytest.mark.parametrize("backend", ["cpsat", "pulp", "greedy"])
def test_solve_writes_a_valid_solution(
    problem_file: Path, tmp_path: Path, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "solution.json"
    code = main(
        ["solve", str(problem_file), "--backend", backend, "--time-limit", "10", "-o", str(out)]
    )
    assert code == 0
    document = json.loads(out.read_text())
    for key in ("status", "objective", "bound", "gap", "solve_seconds", "backend",
                "placed_by_priority", "assignments", "unplaced"):  # fmt: skip
        assert key in document
    assert document["backend"] == backend
    assert set(document["placed_by_priority"]) == {"1", "2", "3", "4", "5"}
    for assignment in document["assignments"]:
        assert set(assignment) == {"referral", "bedspace", "support_team", "score", "terms"}
        assert assignment["score"] == sum(assignment["terms"].values())
    for unplaced in document["unplaced"]:
        assert unplaced["reasons"]
    solution = parse_solution(document)
    assert check(load_problem(problem_file), solution) == []


def test_solve_writes_to_stdout(problem_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["solve", str(problem_file), "--backend", "greedy"]) == 0
    assert json.loads(capsys.readouterr().out)["backend"] == "greedy"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backend", "gurobi"], "unknown backend 'gurobi'"),
        (["--time-limit", "-1"], "--time-limit"),
        (["--time-limit", "nan"], "--time-limit"),
    ],
)
def test_bad_arguments_exit_2(
    problem_file: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["solve", str(problem_file), *args]) == 2
    assert message in capsys.readouterr().err


def test_invalid_problem_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"as_of": "2026-11-23", "referrals": [{"id": "R1"}]}))
    assert main(["solve", str(path)]) == 2
    err = capsys.readouterr().err
    assert "referrals[0].referred" in err
    assert "Traceback" not in err


STAGE_LINE = ("band ", "soft points")


@pytest.mark.parametrize("backend", ["cpsat", "pulp", "greedy"])
def test_the_console_script_writes_exactly_one_json_document(tmp_path: Path, backend: str) -> None:
    """Solver libraries print banners from C code and worker processes; stdout still holds
    the document alone, so `bedmatch solve p.json > s.json` gives a JSON file, and stderr
    holds the stage progress and nothing of the solvers'."""
    problem_file = tmp_path / "problem.json"
    problem_file.write_text(generate_json(5, 30, 60))
    script = shutil.which("bedmatch") or str(Path(sys.executable).parent / "bedmatch")
    done = subprocess.run(
        [script, "solve", str(problem_file), "--backend", backend, "--time-limit", "10"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)  # fails on anything beside the one document
    assert document["backend"] == backend
    assert check(load_problem(problem_file), parse_solution(document)) == []
    shown = [line for line in done.stderr.splitlines() if line.strip()]
    assert all(line.startswith(STAGE_LINE) for line in shown), done.stderr
    if backend != "greedy":
        assert shown and shown[-1].startswith("soft points"), done.stderr


@pytest.mark.parametrize("backend", ["cpsat", "pulp"])
def test_each_stage_is_shown_on_stderr_and_stdout_holds_only_the_json(
    problem_file: Path, backend: str
) -> None:
    """Piped (not a terminal): one line per stage, bands 5 to 1 then the soft points, each
    with its value and state; `--quiet` shows none; stdout is the JSON document alone."""
    command = [sys.executable, "-m", "api.cli", "solve", str(problem_file), "--backend", backend]
    shown = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    document = json.loads(shown.stdout)
    lines = [line for line in shown.stderr.splitlines() if line.startswith(("band", "soft"))]
    stages = [line.split(":")[0] for line in lines]
    assert stages == list(dict.fromkeys(stages)), lines  # one line per stage
    assert stages[-1] == "soft points", lines
    for band, placed in document["placed_by_priority"].items():
        if placed:
            line = next(x for x in lines if x.startswith(f"band {band}:"))
            assert f"{placed} placed" in line and "proven" in line, line
    quiet = subprocess.run(
        [*command, "--quiet"], capture_output=True, text=True, check=True, timeout=120
    )
    assert not [line for line in quiet.stderr.splitlines() if line.startswith(("band", "soft"))]
    assert json.loads(quiet.stdout)["placed_by_priority"] == document["placed_by_priority"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_a_stage_line_is_rewritten_as_it_improves() -> None:
    screen = Terminal()
    with stage_progress(screen, shown=True):
        entry = stage_entry("band_3", began=0.0)
        entry.update(search_value=10)
        entry.update(value=12, bound=14, status="OPEN")
        stage_entry("soft", began=0.0).update(value=300, bound=300)
    rows = screen.getvalue().split("\n")
    assert rows[0].split("\r")[-1].startswith("band 3: 12 placed (at most 14) · left open")
    assert rows[1].split("\r")[-1].startswith("soft points: 300 · proven")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_solve_without_explanations_places_the_same_people(seed: int) -> None:
    """`explain=False` (the simulation's daily allocation) leaves out the reasons and the
    equity table, nothing else: the same assignments, which pass the checker."""
    problem = generate(seed, 60, 90)
    explained = solve(problem, "greedy", 5)
    bare = solve(problem, "greedy", 5, explain=False)
    assert bare.assignments == explained.assignments
    assert explained.unplaced and not bare.unplaced
    assert bare.model_extra is not None and bare.model_extra["equity"] == []
    assert check(problem, bare) == []
