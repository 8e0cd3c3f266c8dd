"""No solver writes to standard output, in process or in its worker processes.

The command line points file descriptor 1 at stderr while it runs; these solves run without
that guard, in a fresh interpreter (HiGHS prints its banner once per process), so each
backend and each of PuLP's solvers must keep descriptor 1 clean on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from matcher.backends import cbc_command, highs_worker
from matcher.backends.pulp_backend import CBC

SOLVE_AND_SAY_DONE = """
import json, sys
from fixtures.generator import generate
from matcher.solve import solve

backend, options = sys.argv[1], json.loads(sys.argv[2])
seed, referrals, beds = (int(n) for n in sys.argv[3:6])
solution = solve(generate(seed, referrals, beds), backend, 30, **options)
stages = solution.detail.get("stages", [])
print(json.dumps({
    "status": solution.status,
    "solver": solution.detail.get("solver"),
    "cbc_pieces": sum(entry.get("lp_guided_by") == "cbc" for entry in stages),
    "superseded": sum(bool(entry.get("superseded")) for entry in stages),
}))
"""

SMALL_ARGS = ("5", "30", "60")
# Bands held at the start's count, below their optimum here, and proved by CBC in worker
# processes (`test_background_proof`): some proof finds more.
PROOFS_IN_WORKERS = (
    {"num_workers": 2, "lp_guide": False, "search_share": 0.0, "background_min_variables": 0},
    ("3", "80", "160"),
)


NO_CBC_PROGRAM = pytest.mark.skipif(cbc_command.program() is None, reason="no CBC program")


@pytest.mark.parametrize(
    ("backend", "options", "instance"),
    [
        ("pulp", {"solver": "HiGHS"}, SMALL_ARGS),
        ("pulp", {"solver": CBC}, SMALL_ARGS),
        pytest.param(
            "pulp",
            {"solver": "highspy"},
            SMALL_ARGS,
            marks=pytest.mark.skipif(not highs_worker.available(), reason="no highspy"),
        ),
        ("pulp", {}, SMALL_ARGS),
        pytest.param("cpsat", {"num_workers": 2}, SMALL_ARGS, marks=NO_CBC_PROGRAM),
        pytest.param("cpsat", *PROOFS_IN_WORKERS, marks=NO_CBC_PROGRAM),
        ("greedy", {}, SMALL_ARGS),
    ],
    ids=[
        "pulp-highs",
        "pulp-cbc",
        "pulp-highspy-worker",
        "pulp-default",
        "cpsat-cbc-pieces",
        "cpsat-proofs-in-workers",
        "greedy",
    ],
)
def test_a_solve_prints_nothing_on_standard_output(
    backend: str, options: dict, instance: tuple[str, ...]
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SOLVE_AND_SAY_DONE, backend, json.dumps(options), *instance],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout  # only the script's own line
    assert "Running HiGHS" not in done.stderr  # its output is off, not moved
    said = json.loads(lines[0])
    assert said["status"] in ("optimal", "feasible")
    if "solver" in options:
        assert said["solver"] == options["solver"]
    if backend == "cpsat":  # the pieces and workers this case is for did run
        assert said["superseded" if "lp_guide" in options else "cbc_pieces"] > 0, said
