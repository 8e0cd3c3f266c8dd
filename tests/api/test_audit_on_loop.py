"""On a SQLite file the event loop commits audited reads itself, never sleeping on a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import IntegrityError

from api.db import lock_for_write, make_engine, make_sessionmaker
from api.orm import AuditEventRow
from api.security import Principal, Role
from api.services import audit, audit_on_loop
from api.services.audit_on_loop import LoopReadLog, commits_on_loop

READER = Principal("coordinator", Role.coordinator)


def stored(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(select(AuditEventRow.subject_id).order_by(AuditEventRow.id))
        return [row.subject_id for row in rows]


def loop_commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each commit made on a loop carried."""
    sizes: list[int] = []
    commit = LoopReadLog._commit

    def counted(self: LoopReadLog, rows: list[dict[str, Any]]) -> bool:
        committed = commit(self, rows)
        if committed:
            sizes.append(len(rows))
        return committed

    monkeypatch.setattr(LoopReadLog, "_commit", counted)
    return sizes


async def read(engine: Engine, referral: str) -> bool:
    """Record a read; whether its event was stored by the time the call returned."""
    await audit.record_read_async(engine, READER, "referral", referral)
    return referral in stored(engine)


async def ticking_while(
    waits: Callable[[], bool], ticks: list[int], timeout_s: float = 10.0
) -> None:
    """Count loop turns until `waits()` turns false: the loop must keep turning meanwhile."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while waits():
        ticks[0] += 1
        assert asyncio.get_running_loop().time() < deadline, "never finished"
        await asyncio.sleep(0.002)


async def read_while_held(
    engine: Engine, referral: str, held_s: float, release: Callable[[], None]
) -> tuple[bool, int]:
    """A read started while the database's writer is held for `held_s`, then `release`d:
    whether its event was stored when it returned, and the loop turns counted meanwhile."""
    ticks = [0]
    task = asyncio.ensure_future(read(engine, referral))
    started = asyncio.get_running_loop().time()
    await ticking_while(lambda: asyncio.get_running_loop().time() - started < held_s, ticks)
    assert not task.done()  # its commit is waiting for the writer
    release()
    await ticking_while(lambda: not task.done(), ticks)
    return task.result(), ticks[0]


def test_only_a_sqlite_file_is_committed_on_the_loop(sqlite_engine: Engine) -> None:
    assert commits_on_loop(sqlite_engine)
    memory = make_engine("sqlite://")
    assert not commits_on_loop(memory)
    memory.dispose()


def test_reads_of_one_loop_turn_share_one_commit_made_without_a_thread(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = loop_commits(monkeypatch)

    async def readers() -> list[bool]:
        before = set(threading.enumerate())
        seen = await asyncio.gather(*(read(sqlite_engine, f"R{n:05d}") for n in range(6)))
        assert set(threading.enumerate()) <= before  # no thread started, no writer
        return list(seen)

    assert asyncio.run(readers()) == [True] * 6  # nobody returned before the commit
    assert sizes == [6]
    assert sorted(stored(sqlite_engine)) == [f"R{n:05d}" for n in range(6)]


@pytest.mark.parametrize("held_s", [0.02, 0.3], ids=["retried on the loop", "handed over"])
def test_a_taken_writer_turn_is_waited_for_without_stopping_the_loop(
    sqlite_engine: Engine, held_s: float
) -> None:
    # Held 20 ms the loop gets the turn on a retry; held 300 ms (past `hand_over_s`), the
    # writer thread waits for it instead. Either way the loop turns on meanwhile.
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with make_sessionmaker(sqlite_engine)() as session:
            lock_for_write(session)  # this session holds the writer's turn
            holding.set()
            release.wait(10)
            session.commit()

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(10)

    try:
        visible, _ = asyncio.run(read_while_held(sqlite_engine, "R00001", held_s, release.set))
    finally:
        release.set()
        thread.join(10)
    assert visible
    assert stored(sqlite_engine) == ["R00001"]


def test_a_writer_outside_the_turn_does_not_make_the_loop_sleep(sqlite_engine: Engine) -> None:
    # Another program writing (the sqlite3 shell, say) takes SQLite's own lock, not the turn:
    # the loop's commit is refused at once and the writer thread waits for the lock.
    database = str(sqlite_engine.url.database)
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    def commit() -> None:
        other.execute("COMMIT")

    try:
        visible, ticks = asyncio.run(read_while_held(sqlite_engine, "R00002", 0.2, commit))
    finally:
        other.close()
    assert visible
    assert ticks > 20  # the loop kept turning while SQLite's lock was taken


def test_a_row_the_database_refuses_fails_every_read_of_its_group(
    sqlite_engine: Engine,
) -> None:
    async def scenario() -> list[BaseException | None]:
        log = audit_on_loop.loop_read_log(sqlite_engine, audit._read_log(sqlite_engine))
        good = [audit._event_values(READER, "read", "referral", f"R{n:05d}") for n in range(3)]
        bad = [{**good[0][0], "subject_id": "R09999", "username": None}]  # no username
        outcomes = await asyncio.gather(
            *(log.write(rows) for rows in [*good, bad]), return_exceptions=True
        )
        return [o if isinstance(o, BaseException) else None for o in outcomes]

    errors = asyncio.run(scenario())
    assert all(isinstance(error, IntegrityError) for error in errors)
    assert stored(sqlite_engine) == []

    async def again() -> bool:  # the log is usable again
        return await read(sqlite_engine, "R00005")

    assert asyncio.run(again())


def test_the_loop_leaves_checkpoints_to_a_thread_every_so_many_commits(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LoopReadLog, "checkpoint_every", 3)
    checkpoints: list[str] = []

    @event.listens_for(sqlite_engine, "before_cursor_execute")
    def seen(_c: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "wal_checkpoint" in statement:
            checkpoints.append(threading.current_thread().name)

    async def one_at_a_time() -> None:
        for n in range(7):
            await read(sqlite_engine, f"R{n:05d}")
            await checkpoint_finished()  # else the next one due is skipped, by design

    async def checkpoint_finished() -> None:
        # Waited for, not slept over: on a loaded machine a checkpoint outlasted 0.05 s.
        deadline = asyncio.get_running_loop().time() + 10
        while any(t.name == "audit-checkpoint" for t in threading.enumerate()):
            assert asyncio.get_running_loop().time() < deadline, "a checkpoint never ended"
            await asyncio.sleep(0.01)

    asyncio.run(one_at_a_time())
    assert checkpoints == ["audit-checkpoint", "audit-checkpoint"]  # after commits 3 and 6
    assert len(stored(sqlite_engine)) == 7
