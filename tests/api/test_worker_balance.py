"""Worker processes of one server even out their kept-alive connections."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from api import worker_balance
from api.worker_balance import CHECK_S, GAP_S, MARGIN, ConnectionBalance, WorkerBalance


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def tick(self, seconds: float = CHECK_S) -> None:
        self.now += seconds


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bedmatch-workers"


def busy(balance: WorkerBalance, connections: int, clock: Clock) -> list[bool]:
    """One request on each of `connections` connections, then the clock moves on; what
    each answer was told."""
    told = [balance.let_go(("127.0.0.1", 40000 + n)) for n in range(connections)]
    clock.tick()
    return told


def test_the_busier_process_lets_one_connection_go_at_a_time(path: Path, clock: Clock) -> None:
    busier = WorkerBalance(path, pid=os.getpid(), clock=clock)
    quieter = WorkerBalance(path, pid=os.getppid(), clock=clock)
    busy(quieter, 8, clock)
    busy(busier, 12, clock)
    assert busy(busier, 12, clock).count(True) == 1  # 12 >= 8 + MARGIN: one goes
    assert busy(busier, 12, clock).count(True) == 0  # not again within GAP_S
    clock.tick(GAP_S)
    assert busy(quieter, 8, clock).count(True) == 0  # the quieter one never does
    busy(quieter, 10, clock)  # it took two more
    assert busy(busier, 10, clock).count(True) == 0  # 12 against 10: within the margin


@pytest.mark.parametrize(("mine", "theirs"), [(10, 10), (11, 9), (2, 0)])
def test_processes_within_the_margin_keep_their_connections(
    path: Path, clock: Clock, mine: int, theirs: int
) -> None:
    assert mine < theirs + MARGIN
    one = WorkerBalance(path, pid=os.getpid(), clock=clock)
    other = WorkerBalance(path, pid=os.getppid(), clock=clock)
    for _ in range(20):
        assert not any(busy(other, theirs, clock))
        assert not any(busy(one, mine, clock))
        clock.tick(GAP_S)


def test_a_process_that_has_no_connection_yet_draws_them(path: Path, clock: Clock) -> None:
    crowded = WorkerBalance(path, pid=os.getpid(), clock=clock)
    WorkerBalance(path, pid=os.getppid(), clock=clock)  # started, never asked
    busy(crowded, MARGIN, clock)
    assert busy(crowded, MARGIN, clock).count(True) == 1


def test_idle_connections_stop_counting(path: Path, clock: Clock) -> None:
    balance = WorkerBalance(path, pid=os.getpid(), clock=clock)
    peer = WorkerBalance(path, pid=os.getppid(), clock=clock)
    busy(peer, 5, clock)
    busy(balance, 12, clock)  # 12 connections, then 9 go quiet
    clock.tick(worker_balance.WINDOW_S)
    busy(peer, 5, clock)
    assert busy(balance, 3, clock).count(True) == 0  # 3 active against 5


def test_a_dead_process_neither_counts_nor_keeps_its_slot(path: Path, clock: Clock) -> None:
    gone = WorkerBalance(path, pid=dead_pid(), clock=clock)
    busy(gone, 0, clock)
    alone = WorkerBalance(path, pid=os.getpid(), clock=clock)
    assert not any(busy(alone, 10, clock))  # nobody alive to give connections to
    assert alone._slot == gone._slot  # the dead one's slot was taken again


def test_the_last_process_out_removes_the_file(path: Path, clock: Clock) -> None:
    first = WorkerBalance(path, pid=os.getpid(), clock=clock)
    second = WorkerBalance(path, pid=os.getppid(), clock=clock)
    second.close()
    assert path.exists()  # `first` is still in
    # `second` said it was os.getppid(), which is alive: its slot is free all the same.
    first.close()
    assert not path.exists()


def _balance_in_child(queue: Any) -> None:
    balance = WorkerBalance.for_this_process()
    queue.put(None if balance is None else str(balance.path))
    if balance is not None:
        balance.close()


def test_only_a_supervised_worker_process_balances() -> None:
    assert WorkerBalance.for_this_process() is None  # this process was started on its own
    context = multiprocessing.get_context("spawn")  # as uvicorn starts its workers
    queue = context.Queue()
    child = context.Process(target=_balance_in_child, args=(queue,))
    child.start()
    reported = queue.get(timeout=60)
    child.join(60)
    assert reported == str(worker_balance.shared_path(os.getpid()))


def test_the_middleware_closes_only_the_connections_let_go(path: Path, clock: Clock) -> None:
    balance = WorkerBalance(path, pid=os.getpid(), clock=clock)
    WorkerBalance(path, pid=os.getppid(), clock=clock)  # a peer with no connections

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"whole"})

    balanced = ConnectionBalance(app, balance)

    async def request(port: int) -> list[Message]:
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        scope = {"type": "http", "client": ("127.0.0.1", port), "headers": []}
        await balanced(scope, receive, send)
        return sent

    async def run() -> list[list[Message]]:
        for port in range(MARGIN + 1):
            await request(port)
        clock.tick()
        return [await request(port) for port in range(MARGIN + 1)]

    answers = asyncio.run(run())
    closing = [(b"connection", b"close") in answer[0]["headers"] for answer in answers]
    assert closing == [True] + [False] * MARGIN
    assert all(answer[1]["body"] == b"whole" for answer in answers)  # the answer is whole
