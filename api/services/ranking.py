"""Ranking a waiting referral in the service: the cached ranking context, the ranking on it,
and everyone the answer names written to the audit trail.

The JSON route, the referral page and placements all ask this one question the same way, so
a referral that has stopped waiting while it was being ranked gets the same 409 from each.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from sqlalchemy.orm import Session

from api.security import Principal
from api.services import audit, inventory
from api.services.assemble import ProblemCache
from api.services.errors import Conflict, not_waiting
from api.services.inventory import REFERRALS
from matcher.ranking import DEFAULT_COST_TOP, RankingContext, RankResult, build_context, rank

# The name the ranking context is kept under in the problem cache.
CONTEXT = "ranking"


def cached_context(
    session: Session, cache: ProblemCache, as_of: date, version: int | None = None
) -> RankingContext:
    """The ranking context of the data on `as_of`, built once per data version."""
    return cache.derived(session, as_of, CONTEXT, build_context, version)


def ensure_waiting(
    session: Session | None, context: RankingContext, referral_id: str, doing: str = "ranked"
) -> None:
    """409 unless the referral waits in this context: `not_waiting` naming its status, or,
    when the database says it waits (the context was read before it did), a lost race to try
    again. 404 for a referral the database does not know."""
    if context.is_waiting(referral_id):
        return
    assert session is not None, "only a referral waiting in the context is ranked without one"
    row = inventory.get_row(session, REFERRALS, referral_id)
    session.refresh(row)  # the row may have been read before the context was
    if row.status != "waiting":
        raise not_waiting(referral_id, row.status)
    raise Conflict(f"referral {referral_id!r} changed while it was being {doing}: try again")


def rank_waiting(
    session: Session | None,
    referral_id: str,
    *,
    cache: ProblemCache | None = None,
    as_of: date | None = None,
    version: int | None = None,
    context: RankingContext | None = None,
    top: int | None = None,
    detail: Literal["full", "summary"] = "full",
    cost_top: int = DEFAULT_COST_TOP,
    reader: Principal | None = None,
) -> tuple[RankingContext, RankResult]:
    """The referral ranked on `context`, or on the cached context of `as_of` (at `version`
    or later) when none is given; with a `reader`, everyone the answer names is recorded as
    read by them. 409 when the referral is not waiting (`ensure_waiting`). Without a session
    (an answer on the event loop) the context must be given and the referral wait in it."""
    if context is None:
        assert session is not None and cache is not None and as_of is not None
        context = cached_context(session, cache, as_of, version)
    ensure_waiting(session, context, referral_id)
    result = rank(context, referral_id, top=top, cost_top=cost_top, detail=detail)
    if reader is not None and session is not None:
        # Other people's places and priorities are personal data: every one named is audited.
        audit.record_read(session, reader, "referral", result.people_named())
    return context, result
