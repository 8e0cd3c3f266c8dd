"""Audited reads are committed in groups, and no caller returns before its events are stored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.db import make_engine, make_sessionmaker
from api.migrations import upgrade
from api.orm import AuditEventRow
from api.security import Principal, Role
from api.services import audit

READER = Principal("coordinator", Role.coordinator)
FOLLOWERS = 6


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


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


def hold_first_commit(factory: sessionmaker[Session]) -> tuple[Session, threading.Event]:
    """A session whose first commit waits until the returned event is set."""
    session = factory()
    release = threading.Event()

    @event.listens_for(session, "before_commit")
    def wait(_session: Session) -> None:
        release.wait(10)

    return session, release


def run_readers(
    factory: sessionmaker[Session], engine: Engine, release: threading.Event, first: Session
) -> tuple[list[BaseException | None], list[bool]]:
    """The first reader's commit is held while the others arrive; each reader notes whether
    its event was already stored when `record_read` returned."""
    errors: list[BaseException | None] = [None] * (FOLLOWERS + 1)
    visible = [False] * (FOLLOWERS + 1)

    def read(number: int, session: Session) -> None:
        try:
            audit.record_read(session, READER, "referral", f"R{number:05d}")
            visible[number] = f"R{number:05d}" in stored(engine)
        except BaseException as error:
            errors[number] = error
        finally:
            session.close()

    leader = threading.Thread(target=read, args=(0, first))
    leader.start()
    while not audit._read_log(engine)._committing:  # the leader holds the commit
        threading.Event().wait(0.005)
    followers = [
        threading.Thread(target=read, args=(n, factory())) for n in range(1, FOLLOWERS + 1)
    ]
    for thread in followers:
        thread.start()
    while len(audit._read_log(engine)._open.rows) < FOLLOWERS:  # all have joined the next group
        threading.Event().wait(0.005)
    release.set()
    for thread in [leader, *followers]:
        thread.join(20)
    return errors, visible


def test_reads_arriving_during_a_commit_share_the_next_one(engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    commits = count_commits(engine)
    first, release = hold_first_commit(factory)

    errors, visible = run_readers(factory, engine, release, first)

    assert errors == [None] * (FOLLOWERS + 1)
    assert all(visible)  # nobody returned before its event was committed
    assert sorted(stored(engine)) == [f"R{n:05d}" for n in range(FOLLOWERS + 1)]
    assert commits[0] == 2  # the first reader's, then one for all who came meanwhile


def test_a_failed_group_commit_fails_every_read_in_it_and_stores_none(engine: Engine) -> None:
    factory = make_sessionmaker(engine)
    first, release = hold_first_commit(factory)
    # Break the next group: a row the database refuses (no username) joins it first.
    log = audit._read_log(engine)
    original_write = log.write
    broken = threading.Event()

    def write_with_a_bad_row(session: Session, rows: list[dict[str, Any]]) -> None:
        if rows[0]["subject_id"] != "R00000" and not broken.is_set():
            broken.set()
            rows = [*rows, {**rows[0], "username": None, "subject_id": "bad"}]
        original_write(session, rows)

    log.write = write_with_a_bad_row  # type: ignore[method-assign]

    errors, visible = run_readers(factory, engine, release, first)

    assert errors[0] is None and visible[0]
    assert all(isinstance(error, IntegrityError) for error in errors[1:])
    assert stored(engine) == ["R00000"]
    with factory() as session:  # the log is usable again
        audit.record_read(session, READER, "referral", "R09999")
    assert stored(engine) == ["R00000", "R09999"]


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
