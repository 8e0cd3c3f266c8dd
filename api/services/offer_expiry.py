"""Offers past their time are closed as expired in the background, every few minutes, so a
held bed-space frees on time even when nobody touches the offers (every offer step also
closes those due first: `offers.expire_due`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import date

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from api.services import audit
from api.services.assemble import ProblemCache
from api.services.offers import expire_due

# A held bed-space stays held at most this long past its offer's time.
EVERY_S = 300.0

log = logging.getLogger(__name__)


async def run_expiry(
    factory: sessionmaker[Session],
    placement_date: Callable[[], date],
    cache: ProblemCache | None,
    every_s: float = EVERY_S,
) -> None:
    """Close the offers past their time now and then every `every_s` seconds until
    cancelled; a failed round is logged and the next one tried."""

    def once() -> list[int]:
        with factory() as session:
            return expire_due(session, audit.now(), placement_date(), cache)

    while True:
        try:
            expired = await run_in_threadpool(once)
            if expired:
                log.info("closed %d offers past their time", len(expired))
        except Exception:
            log.exception("closing expired offers failed; trying again in %s s", every_s)
        await asyncio.sleep(every_s)


@contextlib.asynccontextmanager
async def expiry_task(
    factory: sessionmaker[Session], placement_date: Callable[[], date], cache: ProblemCache | None
) -> AsyncIterator[None]:
    """The expiry running in the background for the life of the block."""
    task = asyncio.create_task(run_expiry(factory, placement_date, cache))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
