"""On SQLite, writers queue for their turn, across the worker processes of one database too."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from sqlalchemy import text

from api.db import hold_sqlite_writer, make_engine, make_sessionmaker

HELD_S = 0.6


def hold_for_a_while(url: str, holding: multiprocessing.synchronize.Event) -> None:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        hold_sqlite_writer(session)
        session.execute(text("INSERT INTO t VALUES (1)"))
        holding.set()
        time.sleep(HELD_S)
        session.commit()
    engine.dispose()


def test_a_writer_in_another_process_waits_for_the_turn_and_then_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    spawn = multiprocessing.get_context("spawn")
    holding = spawn.Event()
    other = spawn.Process(target=hold_for_a_while, args=(url, holding))
    other.start()
    try:
        assert holding.wait(60)
        started = time.monotonic()
        with make_sessionmaker(engine)() as session:
            hold_sqlite_writer(session)  # queues behind the other process's transaction
            waited = time.monotonic() - started
            session.execute(text("INSERT INTO t VALUES (2)"))
            session.commit()
    finally:
        other.join(30)
    assert other.exitcode == 0
    assert waited >= HELD_S / 2  # it waited for the other process's commit
    with engine.connect() as connection:
        assert connection.execute(text("SELECT x FROM t ORDER BY x")).scalars().all() == [1, 2]
    # The turn was given back: the next writer in this process goes straight in.
    started = time.monotonic()
    with make_sessionmaker(engine)() as session:
        hold_sqlite_writer(session)
        session.rollback()
    assert time.monotonic() - started < HELD_S / 2
    engine.dispose()
