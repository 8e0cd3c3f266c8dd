"""Support placements: a team supporting a person in their own, a family member's or a
non-commissioned tenancy, with no bed-space (support that follows the person, not the
building: 002_dcd69be417dc9cc0.txt).

A support placement is checked by the checker (`support_placement_violations`) on the state
as it is inside the write lock, as a placement in a bed-space is: a team outside the person's
area, not intensive for Housing First, without a female worker where one is wanted, with a
full caseload or too few hours for support at home is refused (409) with why, and nothing is
stored. The team's caseload counts it from the start to the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import lock_for_write
from api.orm import AreaRow, ReferralRow, SupportPlacementRow, SupportTeamRow
from api.security import Principal
from api.services import audit
from api.services.assemble import build_problem
from api.services.errors import Conflict, NotFound, not_waiting
from constraints.checker import support_placement_violations
from matcher.errors import Issue, ProblemInvalid
from matcher.model import SupportPlacement

# A referral given support at home is no longer waiting, nor placed in a bed-space.
SUPPORTED = "supported"


def start(
    session: Session,
    user: Principal,
    as_of: date,
    referral_id: str,
    team_id: str,
    lives_in: str,
) -> SupportPlacementRow:
    """Give a waiting referral a support team alone, dated `as_of`; refused (409) with every
    rule it would break, nothing stored."""
    try:
        referral = session.get(ReferralRow, referral_id)
        if referral is None:
            raise NotFound("referral", referral_id)
        if session.get(SupportTeamRow, team_id) is None:
            raise ProblemInvalid(
                [Issue(("body", "support_team"), f"unknown support team id {team_id!r}")]
            )
        if referral.home_area is None:
            raise ProblemInvalid(
                [
                    Issue(
                        ("body", "referral"),
                        f"referral {referral_id!r} has no home_area: record where the person "
                        "lives before giving support there",
                    )
                ]
            )
        if referral.status != "waiting":
            raise not_waiting(referral_id, referral.status)
        session.rollback()
        lock_for_write(session)
        problem = build_problem(session, as_of)
        referral = session.get(ReferralRow, referral_id)
        if referral is None or referral.status != "waiting":
            raise not_waiting(referral_id, referral.status if referral else "gone")
        placement = SupportPlacement(referral=referral_id, support_team=team_id)
        broken = support_placement_violations(problem, [placement])
        if broken:
            raise Conflict(
                "the support placement breaks hard rules", sorted({v.message for v in broken})
            )
        team = session.get(SupportTeamRow, team_id)
        assert team is not None
        team.current_caseload += 1
        referral.status = SUPPORTED
        row = SupportPlacementRow(
            referral=referral_id,
            support_team=team_id,
            area=referral.home_area,
            lives_in=lives_in,
            support_hours=referral.support_hours,
            started=as_of,
            started_at=audit.now(),
            started_by=user.username,
        )
        session.add(row)
        audit.record(session, user, "support", "referral", referral_id, team_id)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def end(
    session: Session, user: Principal, placement_id: int, ended: date, reason: str
) -> SupportPlacementRow:
    """End a support placement on `ended`, with the reason; the team's caseload frees."""
    try:
        lock_for_write(session)
        row = session.get(SupportPlacementRow, placement_id)
        if row is None:
            raise NotFound("support placement", placement_id)
        if row.ended is not None:
            raise Conflict(f"support placement {placement_id} already ended on {row.ended}")
        if ended < row.started:
            raise ProblemInvalid(
                [Issue(("body", "ended"), f"is before the support started, {row.started}")]
            )
        row.ended, row.end_reason, row.ended_by = ended, reason, user.username
        team = session.get(SupportTeamRow, row.support_team)
        if team is not None and team.current_caseload > 0:
            team.current_caseload -= 1
        audit.record(session, user, "end-support", "referral", row.referral, reason)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def listed(
    session: Session,
    referral: str | None = None,
    team: str | None = None,
    open_only: bool = False,
) -> Sequence[SupportPlacementRow]:
    query = select(SupportPlacementRow).order_by(SupportPlacementRow.id)
    if referral is not None:
        query = query.where(SupportPlacementRow.referral == referral)
    if team is not None:
        query = query.where(SupportPlacementRow.support_team == team)
    if open_only:
        query = query.where(SupportPlacementRow.ended.is_(None))
    return session.scalars(query).all()


def area_names(session: Session) -> dict[str, str]:
    """Each area's name by id, for pages that show where people are supported."""
    return {a.id: a.name or a.id for a in session.scalars(select(AreaRow))}
