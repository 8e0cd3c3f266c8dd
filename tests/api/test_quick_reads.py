"""The per-request reads made on the event loop on SQLite: they see every committed change at
once, agree with the reads made in a session, and leave no read open behind them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text, update

from api.db import data_version, lock_for_write, make_sessionmaker
from api.orm import UserRow
from api.quick_reads import Account, QuickReads


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def test_an_account_change_is_seen_by_the_next_read(engine: Engine) -> None:
    reads = QuickReads(engine)
    assert reads.on_loop
    factory = make_sessionmaker(engine)
    with factory() as session:
        session.add(UserRow(username="kim", password_hash="x", role="coordinator"))
        session.commit()
    assert reads.account("kim") == Account("coordinator", True)
    assert reads.account("nobody") is None
    with factory() as session:
        session.execute(update(UserRow).values(role="commissioner", active=False))
        session.commit()
    assert reads.account("kim") == Account("commissioner", False)
    reads.close()


def test_the_data_version_is_the_one_a_session_reads(engine: Engine) -> None:
    reads = QuickReads(engine)
    factory = make_sessionmaker(engine)
    with factory() as session:
        before = data_version(session)
    assert reads.data_version() == before
    for _ in range(2):
        with factory() as session:
            written = lock_for_write(session)
            session.commit()
        assert reads.data_version() == written
    with factory() as session:
        assert data_version(session) == written != before
    reads.close()


def test_the_reads_leave_no_read_open_to_pin_the_log(engine: Engine) -> None:
    reads = QuickReads(engine)
    factory = make_sessionmaker(engine)
    with factory() as session:
        session.add(UserRow(username="kim", password_hash="x", role="coordinator"))
        session.commit()
    reads.account("kim")
    reads.data_version()
    with engine.connect() as connection:
        busy, _, _ = connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    assert busy == 0  # a read left open would have kept the log from being reset
    reads.close()
