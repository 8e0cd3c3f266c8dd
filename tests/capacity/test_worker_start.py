"""Replication workers started beside the web service's threads come from a fork server that
has the solver stack imported already, so no worker of any run imports it again."""

from __future__ import annotations

import sys
import threading
from concurrent.futures import ProcessPoolExecutor

from capacity.replications import _process_context


def imported(name: str) -> bool:
    return name in sys.modules


def test_workers_beside_other_threads_start_with_the_solver_stack_imported() -> None:
    held = threading.Event()
    beside = threading.Thread(target=held.wait, daemon=True)
    beside.start()
    try:
        context = _process_context()
        assert context is not None and context.get_start_method() == "forkserver"
        with ProcessPoolExecutor(1, mp_context=context) as pool:
            for module in ("capacity.simulation", "matcher.solve", "ortools"):
                assert pool.submit(imported, module).result(timeout=120), module
    finally:
        held.set()
