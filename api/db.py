"""The SQLAlchemy engine and sessions, and the one lock that serialises placement writes.

Every request that changes who is where, or the inventory the rules read, first bumps the
single `service_state` row. On PostgreSQL that UPDATE takes a row lock, so two coordinators
placing at the same moment run one after the other and the second re-checks the rules against
what the first stored; SQLite serialises writers anyway and the UPDATE opens the write
transaction before any rule is read. The counter doubles as the cache key for the assembled
`Problem`, so a cached problem is never one write old.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

try:
    import fcntl
except ImportError:  # not a POSIX system: processes fall back on SQLite's own waiting
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine, create_engine, event, select, update
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from api.orm import ServiceState


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys on and a patient busy timeout.

    Statement parameters are people's details (age, gender, risk flags, health needs), so
    they are kept out of database error messages and therefore out of every log."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # No pre-ping: a file connection does not drop, and a ping is a statement more
            # on every checkout (three per audited request).
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # With WAL, NORMAL never corrupts and loses nothing on a process crash; only an
            # OS crash may drop the last commits. It spares an fsync per commit, which is
            # what every audited read pays. PostgreSQL is the store for real deployments.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as session:
        yield session


# SQLite lets one writer in at a time and makes the others sleep and poll (1, 2, 5 ... 100 ms
# naps); with many concurrent writers (every audited read writes) those naps, not the writes,
# become the latency. Writers queue instead, held from a session's first write until its
# transaction ends, so the database passes straight on: threads of this process on a lock,
# worker processes on an exclusive `flock` of a file beside the database (the kernel wakes
# the next holder at once).
_sqlite_writer = threading.Lock()
_HOLDS_WRITER = "bedmatch_holds_sqlite_writer"
_writer_files: dict[str, int] = {}  # database path -> descriptor of its lock file


def sqlite_file(engine: Engine) -> str | None:
    """The path of the engine's SQLite database file; None for an in-memory database (one
    connection, or a URI) or another database."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return None if database.startswith("file:") else database


def _writer_file(engine: Engine) -> int | None:
    """The open lock file of a SQLite database file (None in memory or without `flock`)."""
    database = sqlite_file(engine)
    if fcntl is None or database is None:
        return None
    descriptor = _writer_files.get(database)
    if descriptor is None:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        descriptor = _writer_files[database] = os.open(database + ".writer-lock", flags, 0o600)
    return descriptor


def hold_sqlite_writer(session: Session) -> None:
    """On SQLite, wait for this session's turn to write; released when the session's
    transaction ends (commit, rollback or close). Elsewhere, nothing to do."""
    bind = session.get_bind()
    if _HOLDS_WRITER in session.info or bind.dialect.name != "sqlite":
        return
    # The connection first: waiting for a pooled connection while holding the turn would
    # deadlock with the requests that hold the connections and wait for the turn.
    session.connection()
    _sqlite_writer.acquire()
    try:
        descriptor = _writer_file(bind.engine)
        if descriptor is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
    except BaseException:
        _sqlite_writer.release()
        raise
    session.info[_HOLDS_WRITER] = descriptor if descriptor is not None else True


def try_sqlite_writer_turn(engine: Engine) -> Callable[[], None] | None:
    """The SQLite writer's turn if nobody holds it now, as the call that gives it back; None
    if somebody does. Never waits: for the event loop, which must not sleep on a lock."""
    if not _sqlite_writer.acquire(blocking=False):
        return None
    try:
        descriptor = _writer_file(engine)
        if descriptor is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # another process's turn
        _sqlite_writer.release()
        return None
    except BaseException:
        _sqlite_writer.release()
        raise

    return lambda: _give_back_turn(descriptor)


def _give_back_turn(descriptor: int | None) -> None:
    if descriptor is not None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
    _sqlite_writer.release()


def holds_sqlite_writer(session: Session) -> bool:
    """Whether this session's transaction holds the SQLite writer's turn."""
    return _HOLDS_WRITER in session.info


@event.listens_for(Session, "after_transaction_end")
def _release_sqlite_writer(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    held = session.info.pop(_HOLDS_WRITER, None)
    if held is not None:
        _give_back_turn(None if held is True else held)


# Asked on every request that reads the cached problem: built once, run on the session's
# connection (half the cost of building and running it through the ORM each time).
VERSION_STATEMENT = select(ServiceState.version).where(ServiceState.id == 1)


def lock_for_write(session: Session) -> int:
    """Take the placement write lock (first statement of the transaction); the new version."""
    hold_sqlite_writer(session)
    session.execute(
        update(ServiceState).where(ServiceState.id == 1).values(version=ServiceState.version + 1)
    )
    version = session.scalar(VERSION_STATEMENT)
    if version is None:  # a database upgraded but never initialised
        session.add(ServiceState(id=1, version=1))
        session.flush()
        return 1
    return version


def data_version(session: Session) -> int:
    """The data version, in the session's transaction (0 before the first write)."""
    return session.connection().scalar(VERSION_STATEMENT) or 0
