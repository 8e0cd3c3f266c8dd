"""Departures are events: the nightly move-out rule and the switch an admin turns it on with.

A resident past their expected leaving date with no move-out recorded keeps their bed-space
("due to leave", LIFECYCLE.md) until a move-out is recorded: by a coordinator
(`placements.move_out`), or, where an admin has turned it on, by the nightly rule here, which
records each such move-out on the expected date with an audit event naming the rule. Off by
default: a service that turns it on trusts its expected dates to be kept up to date.

The service runs the rule when it starts and then every night (`run_nightly`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.db import lock_for_write
from api.orm import ResidentRow
from api.security import Principal, Role
from api.services import audit, by_name_list, service_settings
from api.services.placements import depart

# Who the audit trail names for a move-out the rule records.
NIGHTLY_RULE = Principal("nightly-move-out-rule", Role.admin)
RULE_DETAIL = "{on} (nightly rule: expected leaving date passed, no move-out recorded)"
# The rule runs this long after midnight, when nobody is placing people.
RUN_AT = timedelta(hours=2)

log = logging.getLogger(__name__)


def is_on(session: Session) -> bool:
    return service_settings.is_on(session, service_settings.NIGHTLY_MOVE_OUTS)


def switch(session: Session, user: Principal, on: bool) -> None:
    """Turn the nightly rule on or off, audited with the old and new value (committed)."""
    before = "on" if is_on(session) else "off"
    after = "on" if on else "off"
    service_settings.put(session, service_settings.NIGHTLY_MOVE_OUTS, after, user.username)
    audit.record(
        session,
        user,
        "setting",
        "service_setting",
        service_settings.NIGHTLY_MOVE_OUTS,
        f"{before} -> {after}",
    )
    session.commit()


def _due(session: Session, as_of: date) -> list[ResidentRow]:
    return list(
        session.scalars(
            select(ResidentRow)
            .where(
                ResidentRow.left_on.is_(None),
                ResidentRow.expected_leave.is_not(None),
                ResidentRow.expected_leave <= as_of,
            )
            .order_by(ResidentRow.id)
        )
    )


def record_due_move_outs(session: Session, as_of: date) -> list[str]:
    """If the nightly rule is on: record the move-out of every resident past their expected
    leaving date on `as_of`, on that date, one audit event each, in one transaction; the
    residents moved out. Off: nothing is read beyond the switch, nothing written."""
    if not is_on(session):
        session.rollback()
        return []
    if not _due(session, as_of):  # nothing to do: the data version stays where it is
        session.rollback()
        return []
    session.rollback()
    lock_for_write(session)
    moved = []
    for resident in _due(session, as_of):  # read again under the lock
        assert resident.expected_leave is not None
        depart(session, resident, resident.expected_leave)
        detail = RULE_DETAIL.format(on=resident.expected_leave.isoformat())
        audit.record(session, NIGHTLY_RULE, "move_out", "resident", resident.id, detail)
        by_name_list.follow(
            session,
            NIGHTLY_RULE,
            by_name_list.case_reference_of(session, resident.id),
            by_name_list.moved_out_event(resident.destination),
            resident.expected_leave,
        )
        moved.append(resident.id)
    session.commit()
    return moved


def seconds_to_next_run(now: datetime) -> float:
    """Seconds from `now` (local time) to the next `RUN_AT` after midnight."""
    run = datetime.combine(now.date(), datetime.min.time()) + RUN_AT
    if run <= now:
        run += timedelta(days=1)
    return (run - now).total_seconds()


async def run_nightly(
    factory: sessionmaker[Session],
    placement_date: Callable[[], date],
    now: Callable[[], datetime] = datetime.now,
) -> None:
    """Run the rule now and then every night until cancelled; a failed night is logged and
    the next one tried (the move-outs are all or nothing)."""

    def once() -> list[str]:
        with factory() as session:
            return record_due_move_outs(session, placement_date())

    while True:
        try:
            moved = await run_in_threadpool(once)
            if moved:
                log.info("nightly rule recorded %d move-outs", len(moved))
        except Exception:
            log.exception("the nightly move-out rule failed; it runs again tomorrow")
        await asyncio.sleep(seconds_to_next_run(now()))


@contextlib.asynccontextmanager
async def nightly_task(
    factory: sessionmaker[Session], placement_date: Callable[[], date]
) -> AsyncIterator[None]:
    """The nightly rule running in the background for the life of the block."""
    task = asyncio.create_task(run_nightly(factory, placement_date))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
