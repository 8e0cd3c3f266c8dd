"""Audited reads are committed in groups, and no caller returns before its events are stored."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import IntegrityError

from api.db import lock_for_write, make_sessionmaker
from api.orm import AuditEventRow
from api.security import Principal, Role
from api.services import audit

READER = Principal("coordinator", Role.coordinator)
FOLLOWERS = 6


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def stored(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(select(AuditEventRow.subject_id).order_by(AuditEventRow.id))
        return [row.subject_id for row in rows]


def count_commits(engine: Engine) -> list[int]:
    commits = [0]

    @event.listens_for(engine, "commit")
    def counted(_connection: Any) -> None:
        commits[0] += 1

    return commits


class HeldCommit:
    """The engine's first commit waits (once it has begun) until `release` is set."""

    def __init__(self, engine: Engine) -> None:
        self.begun = threading.Event()
        self.release = threading.Event()
        event.listen(engine, "commit", self._hold)

    def _hold(self, _connection: Any) -> None:
        if not self.begun.is_set():
            self.begun.set()
            self.release.wait(10)


def until(condition: Callable[[], bool]) -> None:
    for _ in range(2000):
        if condition():
            return
        threading.Event().wait(0.005)
    raise AssertionError("the condition never held")


def first_read_holds_the_writer(engine: Engine) -> tuple[threading.Thread, HeldCommit]:
    """Reader R00000 is being committed, and the commit is held, when this returns."""
    held = HeldCommit(engine)
    factory = make_sessionmaker(engine)

    def first() -> None:
        with factory() as session:
            audit.record_read(session, READER, "referral", "R00000")

    thread = threading.Thread(target=first)
    thread.start()
    assert held.begun.wait(10)
    return thread, held


def test_reads_arriving_during_a_commit_share_the_next_one(engine: Engine) -> None:
    commits = count_commits(engine)
    first, held = first_read_holds_the_writer(engine)
    log = audit._read_log(engine)
    errors: list[BaseException | None] = [None] * (FOLLOWERS + 1)
    visible = [False] * (FOLLOWERS + 1)

    def read(number: int) -> None:
        try:
            with make_sessionmaker(engine)() as session:
                audit.record_read(session, READER, "referral", f"R{number:05d}")
            visible[number] = f"R{number:05d}" in stored(engine)
        except BaseException as error:
            errors[number] = error

    followers = [threading.Thread(target=read, args=(n,)) for n in range(1, FOLLOWERS + 1)]
    for thread in followers:
        thread.start()
    until(lambda: len(log._open.rows) == FOLLOWERS)  # all have joined the next group
    held.release.set()
    for thread in [first, *followers]:
        thread.join(20)

    assert errors == [None] * (FOLLOWERS + 1)
    assert all(visible[1:])  # nobody returned before its event was committed
    assert sorted(stored(engine)) == [f"R{n:05d}" for n in range(FOLLOWERS + 1)]
    assert commits[0] == 2  # the first reader's, then one for all who came meanwhile


def test_coroutines_wait_for_the_commit_holding_their_events_without_a_thread(
    engine: Engine,
) -> None:
    commits = count_commits(engine)
    first, held = first_read_holds_the_writer(engine)
    log = audit._read_log(engine)

    async def read(number: int) -> bool:
        await audit.record_read_async(engine, READER, "referral", f"R{number:05d}")
        return f"R{number:05d}" in stored(engine)

    async def readers() -> list[bool]:
        threads_before = set(threading.enumerate())
        waiting = [asyncio.ensure_future(read(n)) for n in range(1, FOLLOWERS + 1)]
        while len(log._open.rows) < FOLLOWERS:
            await asyncio.sleep(0.005)
        # No thread waits for a coroutine: none started. (A count would also see an earlier
        # test's audit writer end meanwhile.)
        assert set(threading.enumerate()) <= threads_before
        assert not any(task.done() for task in waiting)  # their commit has not happened
        held.release.set()
        return list(await asyncio.gather(*waiting))

    visible = asyncio.run(readers())
    first.join(20)

    assert all(visible)
    assert sorted(stored(engine)) == [f"R{n:05d}" for n in range(FOLLOWERS + 1)]
    assert commits[0] == 2


def test_a_failed_group_commit_fails_every_read_in_it_and_stores_none(engine: Engine) -> None:
    first, held = first_read_holds_the_writer(engine)
    log = audit._read_log(engine)
    errors: list[BaseException | None] = [None] * FOLLOWERS

    def read(number: int) -> None:
        rows = audit._event_values(READER, "read", "referral", f"R{number:05d}")
        if number == 0:  # a row the database refuses (no username) joins the group
            rows = [{**rows[0], "username": None}]
        try:
            log.write(rows)
        except BaseException as error:
            errors[number] = error

    followers = [threading.Thread(target=read, args=(n,)) for n in range(FOLLOWERS)]
    for thread in followers:
        thread.start()
    until(lambda: len(log._open.rows) == FOLLOWERS)
    held.release.set()
    for thread in [first, *followers]:
        thread.join(20)

    assert all(isinstance(error, IntegrityError) for error in errors)
    assert stored(engine) == ["R00000"]
    with make_sessionmaker(engine)() as session:  # the log is usable again
        audit.record_read(session, READER, "referral", "R09999")
    assert stored(engine) == ["R00000", "R09999"]


def test_the_writer_stops_when_idle_and_starts_again_for_the_next_read(engine: Engine) -> None:
    log = audit._read_log(engine)
    log.linger_s = 0.02
    factory = make_sessionmaker(engine)
    with factory() as session:
        audit.record_read(session, READER, "referral", "R00001")
    writer = log._writer
    assert writer is not None and writer.name == "audit-writer"
    writer.join(5)
    assert not writer.is_alive() and log._writer is None
    with factory() as session:
        audit.record_read(session, READER, "referral", "R00002")
    assert stored(engine) == ["R00001", "R00002"]


def test_a_read_recorded_while_holding_the_write_turn_is_refused_not_hung(
    engine: Engine,
) -> None:
    with make_sessionmaker(engine)() as session:
        lock_for_write(session)  # this session now holds SQLite's writer turn
        with pytest.raises(RuntimeError, match="after committing"):
            audit.record_read(session, READER, "referral", "R00001")
        session.rollback()
        audit.record_read(session, READER, "referral", "R00001")
    assert stored(engine) == ["R00001"]


def test_one_read_of_many_people_stores_one_event_each(engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    with factory() as session:
        audit.record_read(session, READER, "referral", ["R00001", "R00002", "R00003"])
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(AuditEventRow)) == 3


def test_a_read_that_showed_nobody_stores_nothing(engine: Engine) -> None:
    with make_sessionmaker(engine)() as session:
        audit.record_read(session, READER, "referral", [])
    assert stored(engine) == []
