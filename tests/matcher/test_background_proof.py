"""Band proofs in a worker process: the run goes on while CBC proves, and comes back when the
proof finds more than the band was held at."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from constraints.checker import check
from fixtures.generator import generate
from matcher.backends import background_work, cbc_command, highs_worker, mip_prover
from matcher.backends.classes import build_instance
from matcher.backends.greedy import greedy_placements
from matcher.backends.linear import LinearModel
from matcher.backends.proof_worker import BackgroundProof
from matcher.backends.reduced_model import build_model, encode
from matcher.backends.submodel import SparseModel
from matcher.solve import solve
from tests.matcher.helpers import lexicographic_value, three_people_seven_hours

pytestmark = pytest.mark.skipif(not mip_prover.available(), reason="OR-Tools has no CBC here")


def test_the_worker_answers_as_cbc_in_process_does() -> None:
    sparse = three_people_seven_hours()
    proof = BackgroundProof(sparse, np.array([1, 1, 1]), 5.0, niceness=5)
    out = proof.outcome(wait_until=float("inf"))
    assert out is not None and out.optimal
    assert out.values is not None and int(out.values.sum()) == 2
    assert out.bound == 2


@pytest.mark.skipif(not highs_worker.available(), reason="highspy is not installed")
def test_a_highs_proof_answers_as_cbc_does_from_the_incumbent() -> None:
    sparse = three_people_seven_hours()
    start = np.array([1, 0, 0])
    proof = BackgroundProof(sparse, np.array([1, 1, 1]), 5.0, start=start, solver="highs")
    out = proof.outcome(wait_until=float("inf"))
    assert out is not None and out.optimal
    assert out.values is not None and int(out.values.sum()) == 2
    assert out.bound == 2
    assert sparse.violated_rows(out.values).size == 0


def test_a_cancelled_proof_gives_no_answer() -> None:
    model = LinearModel()
    model.add_vars(2, 0, 1)
    proof = BackgroundProof(SparseModel.of(model), np.array([1, 1]), 5.0)
    proof.cancel()
    assert proof.finished()


def test_background_proofs_reach_the_in_process_optimum_going_back_where_they_find_more() -> None:
    problem = generate(3, 80, 160)
    # Without the LP guide and the search a band is held at the start's count, below its
    # optimum on this instance, so some proof finds more and the run goes back after it.
    speculative = solve(
        problem,
        "cpsat",
        60,
        num_workers=2,
        lp_guide=False,
        search_share=0.0,
        background_min_variables=0,
    )
    in_process = solve(problem, "cpsat", 60, num_workers=2, background_proofs=0)
    assert speculative.status == in_process.status == "optimal"
    assert not check(problem, speculative)
    assert lexicographic_value(problem, speculative) == lexicographic_value(problem, in_process)
    stages = speculative.detail["stages"]  # type: ignore[attr-defined]
    assert any(entry.get("superseded") for entry in stages), "no proof found more"


def _group_commands(group: int) -> list[str]:
    """The command names of the live processes in a process group (Linux `/proc`)."""
    names = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :]
        fields = rest.split()
        if int(fields[2]) == group and fields[0] != "Z":
            names.append(name)
    return names


@pytest.mark.skipif(
    cbc_command.program() is None or not Path("/proc/self/stat").exists(),
    reason="needs the CBC program and /proc",
)
def test_a_cancelled_proof_stops_the_cbc_program_it_started() -> None:
    inst = build_instance(generate(1501, 1500, 3000))
    layout = build_model(inst)
    full = SparseModel.of(layout.model)
    start = encode(inst, layout, greedy_placements(inst))
    # Every referral counts: CBC's preprocessing alone takes seconds on 153,179 variables.
    objective = np.zeros(full.n_vars, dtype=np.int64)
    objective[: layout.n_pairs] = 1
    proof = BackgroundProof(full, objective, 60.0, start=start)
    group = proof.pid
    deadline = time.monotonic() + 30
    while "cbc" not in _group_commands(group) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "cbc" in _group_commands(group), "the worker did not start CBC"
    proof.cancel()
    deadline = time.monotonic() + 5
    while _group_commands(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _group_commands(group) == []


def test_a_proof_over_the_memory_budget_is_not_started_and_its_band_stays_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A proof that would take the solving process and its workers past the memory budget is
    never started: its band is held open at its count, and the allocation is still whole."""

    def no_worker(*args: object, **kwargs: object) -> None:
        raise AssertionError("a proof over the memory budget was started")

    monkeypatch.setattr(background_work, "BackgroundProof", no_worker)
    problem = generate(3, 80, 160)
    options = {"num_workers": 2, "lp_guide": False, "search_share": 0.0}
    held = solve(problem, "cpsat", 30, background_min_variables=0, memory_budget_mib=1, **options)
    assert not check(problem, held)
    stages = held.detail["stages"]  # type: ignore[attr-defined]
    over = [entry for entry in stages if entry.get("over_memory_budget")]
    assert over, "no band proof was given up"
    assert all(entry["status"] == "OPEN" for entry in over)
    bounds = held.model_extra["placed_bound_by_priority"]  # type: ignore[index]
    # The same run within a budget proves every band.
    within = solve(problem, "cpsat", 30, background_proofs=0, **options)
    assert within.status == "optimal"
    assert held.status != "optimal" or bounds == dict(within.placed_by_priority)
