"""Offers: a bed-space held for one waiting person, until they accept it (and arrive on a
date), decline it with a reason, the coordinator withdraws it, or it expires.

The steps (LIFECYCLE.md):

    waiting --offer--> offered --accept--> placed (a stay begins)
    offered --decline / withdraw / expire--> waiting   (a declined bed-space is remembered)

Each step runs under the write lock (`api.db.lock_for_write`) like a placement, and an offer
and an acceptance are checked by the checker (`constraints.checker.check`) against the state
as it is inside that lock, so a hard rule broken since the ranking (a unit's policy changed,
someone else moved in) refuses the step (409) and nothing is stored. An open offer is in the
problem the service builds as the person in the bed-space (`api.services.assemble`), so a
held bed-space is free to nobody else, in the ranking and in batch runs alike; the cached
problem and ranking context are carried over each step (`ProblemCache.stage`), as for a
placement. A bed-space someone declined is not offered to them again unless the coordinator
asks (`ask_again`). Every step is in the audit trail: who, when, and why.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import lock_for_write
from api.orm import (
    BedSpaceRow,
    OfferRow,
    PlacementRow,
    ReferralRow,
    SupportTeamRow,
)
from api.security import Principal, Role
from api.services import audit, by_name_list, service_settings
from api.services.assemble import (
    NotCarried,
    ProblemCache,
    StayChange,
    build_problem,
    offered_resident,
)
from api.services.errors import Conflict, NotFound, not_waiting
from api.services.list_status import ListEvent
from api.services.placements import _bedspaces_free, _commit, _top_choice, resident_from
from constraints.checker import check
from matcher.errors import Issue, ProblemInvalid
from matcher.model import Assignment, Problem, Referral, Solution, SupportTeam
from matcher.ranking import RankResult, UnitSummary, build_context, override

# Who the audit trail names for an offer the expiry rule closes.
EXPIRY_RULE = Principal("offer-expiry-rule", Role.admin)
DEFAULT_OFFER_DAYS = 3
OFFER_DAYS_MAX = 60


class DeclineReason(StrEnum):
    person_refused = "person_refused"
    provider_refused = "provider_refused"
    unsafe_on_review = "unsafe_on_review"
    not_contactable = "not_contactable"
    other = "other"  # with the words why


class OfferState(StrEnum):
    open = "open"
    accepted = "accepted"
    declined = "declined"
    withdrawn = "withdrawn"
    expired = "expired"


# --- the expiry setting -------------------------------------------------------------------


def offer_days(session: Session) -> int:
    """Days an offer holds its bed-space before it expires (an admin setting)."""
    stored = service_settings.get(session, service_settings.OFFER_DAYS)
    return int(stored) if stored is not None and stored.isdigit() else DEFAULT_OFFER_DAYS


def set_offer_days(session: Session, user: Principal, days: int) -> None:
    """Change how long new offers hold their bed-space, audited old -> new (committed)."""
    if not 1 <= days <= OFFER_DAYS_MAX:
        raise ProblemInvalid([Issue(("body", "days"), f"must be 1 to {OFFER_DAYS_MAX} days")])
    before = offer_days(session)
    service_settings.put(session, service_settings.OFFER_DAYS, str(days), user.username)
    audit.record(
        session,
        user,
        "setting",
        "service_setting",
        service_settings.OFFER_DAYS,
        f"{before} -> {days}",
    )
    session.commit()


# --- reading ------------------------------------------------------------------------------


def list_offers(
    session: Session,
    referral: str | None = None,
    bedspace: str | None = None,
    state: OfferState | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[OfferRow]:
    """Offers, newest first, of one person, one bed-space or all."""
    query = select(OfferRow).order_by(OfferRow.id.desc()).limit(limit).offset(offset)
    if referral is not None:
        query = query.where(OfferRow.referral == referral)
    if bedspace is not None:
        query = query.where(OfferRow.bedspace == bedspace)
    if state is not None:
        query = query.where(OfferRow.state == state.value)
    return list(session.scalars(query))


def declined_bedspaces(session: Session, referral_id: str) -> dict[str, OfferRow]:
    """Bed-space -> the latest offer of it the person declined."""
    rows = session.scalars(
        select(OfferRow)
        .where(OfferRow.referral == referral_id, OfferRow.state == OfferState.declined.value)
        .order_by(OfferRow.id)
    )
    return {row.bedspace: row for row in rows}


# The name of the per-data-version map of what each person declined, in the problem cache.
DECLINED = "declined_bedspaces"


def declined_after(
    declined: dict[str, frozenset[str]], _problem: Problem, change: StayChange
) -> dict[str, frozenset[str]]:
    """`declined_by_referral` carried over a change (`ProblemCache.settle`): the same, unless
    the change closed an offer (someone waits again), the only change that declines."""
    if change.returned:
        raise NotCarried
    return declined


def declined_by_referral(session: Session) -> dict[str, frozenset[str]]:
    """Referral -> every bed-space they declined (kept per data version, since every offer
    step bumps it, so an answer on the event loop can leave them out without a read)."""
    found: dict[str, set[str]] = {}
    rows = session.execute(
        select(OfferRow.referral, OfferRow.bedspace).where(
            OfferRow.state == OfferState.declined.value
        )
    )
    for referral, bedspace in rows:
        found.setdefault(referral, set()).add(bedspace)
    return {referral: frozenset(beds) for referral, beds in found.items()}


def without_declined(ranking: RankResult, declined: Collection[str]) -> RankResult:
    """The ranking with the bed-spaces the person declined taken out: they are not proposed
    to them again (a coordinator may still offer one again, asking on purpose). A unit left
    with none drops out; one with some left says how many were declined."""
    if not declined:
        return ranking
    units: list[UnitSummary] = []
    for summary in ranking.units:
        kept = [b for b in summary["bedspaces"] if b not in declined]
        gone = len(summary["bedspaces"]) - len(kept)
        if not kept:
            continue
        if gone:
            note = f"{gone} of its bed-spaces declined by this person before."
            summary = {
                **summary,
                "bedspaces": kept,
                "other_bedspaces": (*summary["other_bedspaces"], note),
            }
        units.append(summary)
    ranked = [p for p in ranking.ranked if p.bedspace not in declined]
    notes = [*ranking.notes, f"Not proposed again: {len(declined)} bed-space(s) declined before."]
    return ranking.model_copy(update={"units": units, "ranked": ranked, "notes": notes})


def open_offer_of(session: Session, referral_id: str) -> OfferRow | None:
    return session.scalar(
        select(OfferRow).where(
            OfferRow.referral == referral_id, OfferRow.state == OfferState.open.value
        )
    )


def _holder(session: Session, bedspace_id: str) -> OfferRow | None:
    return session.scalar(
        select(OfferRow).where(
            OfferRow.bedspace == bedspace_id, OfferRow.state == OfferState.open.value
        )
    )


def _held_conflict(holder: OfferRow) -> Conflict:
    return Conflict(
        f"bed-space {holder.bedspace!r} is held by offer {holder.id} "
        f"(offered {holder.made_at:%d %B %Y %H:%M}, open until {holder.expires_at:%d %B %Y %H:%M})",
        [f"Bed-space {holder.bedspace} is held: an open offer waits for its answer."],
    )


# --- offering -----------------------------------------------------------------------------


def make_offer(
    session: Session,
    user: Principal,
    as_of: date,
    referral_id: str,
    bedspace_id: str,
    *,
    now: datetime,
    support_team: str | None = None,
    reason: str | None = None,
    ask_again: bool = False,
    run_id: int | None = None,
    cache: ProblemCache | None = None,
) -> OfferRow:
    """Offer a bed-space to a waiting person, holding it for the configured number of days.

    As for a placement, the top-ranked bed-space needs no reason and any other safe one needs
    the coordinator's (an offer from a batch run, `run_id`, needs none: the run chose it). A
    bed-space a hard rule forbids, one already held or occupied, and a person not waiting are
    refused (409) with nothing stored; so is a bed-space the person declined, unless
    `ask_again`.
    """
    expire_due(session, now, as_of, cache)
    try:
        referral = _waiting_referral(session, referral_id)
        if session.get(BedSpaceRow, bedspace_id) is None:
            raise NotFound("bed-space", bedspace_id)
        if support_team is not None and session.get(SupportTeamRow, support_team) is None:
            raise NotFound("support team", support_team)
        _bedspace_open(session, bedspace_id, as_of)
        declined = declined_bedspaces(session, referral_id).get(bedspace_id)
        if declined is not None and not ask_again:
            raise Conflict(
                f"referral {referral_id!r} declined bed-space {bedspace_id!r} "
                f"(offer {declined.id}, {declined.reason_code}) on "
                f"{declined.closed_at:%d %B %Y}: ask again to offer it again",
                ["A declined bed-space is not offered to the same person again unless asked."],
            )
        assignments = _chosen(
            session, as_of, referral, bedspace_id, support_team, reason, run_id, cache
        )
        if len(assignments) > 1:
            partners = ", ".join(a.referral for a in assignments[1:])
            raise Conflict(
                f"referral {referral_id!r} moves in with {partners}: a shared offer is not "
                "supported; place them together instead",
                ["Offers hold one bed-space for one person."],
            )
        session.rollback()  # end the reads; the write transaction starts with the lock
        locked = lock_for_write(session)
        problem = _problem_now(session, cache, locked, as_of)
        referral = _waiting_referral(session, referral_id)
        _bedspace_open(session, bedspace_id, as_of)
        _checked(problem, assignments)
        team_id = assignments[0].support_team
        days = offer_days(session)
        offer = OfferRow(
            referral=referral_id,
            bedspace=bedspace_id,
            support_team=team_id,
            state=OfferState.open.value,
            made_by=user.username,
            made_at=now,
            expires_at=now + timedelta(days=days),
            reason=reason.strip() if reason and reason.strip() else None,
            run_id=run_id,
        )
        session.add(offer)
        referral.status = "offered"
        teams = _move_caseload(session, team_id, +1)
        session.flush()
        detail = f"offer {offer.id}: bed-space {bedspace_id}, open {days} days"
        if offer.reason:
            detail += f"; not ranked first because: {offer.reason}"
        if declined is not None:
            detail += f"; offered again after offer {declined.id} was declined"
        audit.record(session, user, "offer", "referral", referral_id, detail)
        change = StayChange(
            residents=(offered_resident(offer, referral),),
            teams=teams,
            held={bedspace_id: offer.id},
        )
        _commit(session, cache, locked, as_of, change)
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"bed-space {bedspace_id!r} or referral {referral_id!r} was given an offer by "
            "someone else at the same moment",
            ["Bed-space already held."],
        ) from None
    except BaseException:
        session.rollback()
        raise
    return offer


def offer_many(
    session: Session,
    user: Principal,
    as_of: date,
    assignments: Sequence[Assignment],
    run_id: int,
    *,
    now: datetime,
) -> list[OfferRow]:
    """Offer a batch run's proposals in one transaction: all of them, or (on any refusal)
    none. Each is checked as a single offer is, and the checker judges them together; a
    bed-space a person declined is refused here too (a run does not ask again)."""
    expire_due(session, now, as_of)
    lock_for_write(session)
    try:
        problem = build_problem(session, as_of)
        beds = [a.bedspace for a in assignments]
        for a in assignments:
            _waiting_referral(session, a.referral)
            _bedspace_open(session, a.bedspace, as_of)
            declined = declined_bedspaces(session, a.referral).get(a.bedspace)
            if declined is not None:
                raise Conflict(
                    f"referral {a.referral!r} declined bed-space {a.bedspace!r} (offer "
                    f"{declined.id}, {declined.reason_code}): offer it again from their page "
                    "if they ask",
                    ["A declined bed-space is not offered to the same person again unless asked."],
                )
        _checked(problem, assignments)
        days = offer_days(session)
        rows = []
        for a in assignments:
            referral = session.get(ReferralRow, a.referral)
            assert referral is not None
            referral.status = "offered"
            _move_caseload(session, a.support_team, +1)
            row = OfferRow(
                referral=a.referral,
                bedspace=a.bedspace,
                support_team=a.support_team,
                state=OfferState.open.value,
                made_by=user.username,
                made_at=now,
                expires_at=now + timedelta(days=days),
                run_id=run_id,
            )
            session.add(row)
            rows.append(row)
        session.flush()
        for row in rows:
            detail = f"offer {row.id}: bed-space {row.bedspace}, open {days} days, run {run_id}"
            audit.record(session, user, "offer", "referral", row.referral, detail)
        # A writer outside the service may have filled a bed-space meanwhile: look again.
        _bedspaces_free(session, beds, as_of)
        return rows
    except IntegrityError:
        session.rollback()
        raise Conflict(
            "a bed-space or person was given an offer by someone else at the same moment",
            ["Bed-space already held."],
        ) from None
    except BaseException:
        session.rollback()
        raise


def _waiting_referral(session: Session, referral_id: str) -> ReferralRow:
    referral = session.get(ReferralRow, referral_id)
    if referral is None:
        raise NotFound("referral", referral_id)
    session.refresh(referral)
    if referral.status != "waiting":
        if referral.status == "offered":
            offer = open_offer_of(session, referral_id)
            if offer is not None:
                raise Conflict(
                    f"referral {referral_id!r} is offered, not waiting: offer {offer.id} of "
                    f"bed-space {offer.bedspace!r} waits for an answer",
                    ["Withdraw or close the open offer first."],
                )
        raise not_waiting(referral_id, referral.status)
    return referral


def _bedspace_open(session: Session, bedspace_id: str, as_of: date) -> None:
    """Refuse (409) a bed-space held by an open offer, occupied, or due to leave."""
    holder = _holder(session, bedspace_id)
    if holder is not None:
        raise _held_conflict(holder)
    _bedspaces_free(session, [bedspace_id], as_of)


def _chosen(
    session: Session,
    as_of: date,
    referral: ReferralRow,
    bedspace_id: str,
    support_team: str | None,
    reason: str | None,
    run_id: int | None,
    cache: ProblemCache | None,
) -> list[Assignment]:
    """The assignment the offer makes, decided on the ranking as it is now: the top choice,
    or an override with the coordinator's reason (hard rules refuse either: 409)."""
    if cache is not None:
        _, _, context = cache.snapshot(session, as_of, "ranking", build_context)
    else:
        context = build_context(build_problem(session, as_of))
    if not context.is_waiting(referral.id):
        raise Conflict(f"referral {referral.id!r} changed while it was being offered: try again")
    if run_id is not None or (reason is not None and reason.strip()):
        decision = override(context, referral.id, bedspace_id, reason or "batch run", support_team)
        return list(decision.assignments)
    return _top_choice(session, context, referral.id, bedspace_id, support_team)


def _problem_now(session: Session, cache: ProblemCache | None, locked: int, as_of: date) -> Problem:
    """The state the write lock holds (version `locked - 1`), from the cache if it has it."""
    if cache is not None:
        known = cache.problem_at(locked - 1, as_of)
        if known is not None:
            return known
        return cache.read(session, as_of)
    return build_problem(session, as_of)


def _checked(problem: Problem, assignments: Sequence[Assignment]) -> None:
    violations = check(problem, Solution(assignments=list(assignments)))
    if violations:
        rules = sorted({v.rule for v in violations})
        raise Conflict(
            "the offer breaks hard rules: " + ", ".join(rules),
            sorted({v.message for v in violations}),
        )


def _move_caseload(session: Session, team_id: str | None, by: int) -> tuple[SupportTeam, ...]:
    if team_id is None:
        return ()
    team = session.get(SupportTeamRow, team_id)
    if team is None:
        return ()
    team.current_caseload = max(0, team.current_caseload + by)
    return (SupportTeam.model_validate(team, from_attributes=True),)


# --- answering ----------------------------------------------------------------------------


def _open_offer(session: Session, offer_id: int, now: datetime) -> OfferRow:
    """The offer, still open and not past its time: 404 unknown, 409 otherwise."""
    offer = session.get(OfferRow, offer_id)
    if offer is None:
        raise NotFound("offer", offer_id)
    if offer.state != OfferState.open.value:
        raise Conflict(f"offer {offer_id} is {offer.state}, not open")
    if offer.expires_at <= now:
        raise Conflict(
            f"offer {offer_id} expired on {offer.expires_at:%d %B %Y %H:%M}",
            ["An offer past its time holds nothing: make a new offer."],
        )
    return offer


def accept(
    session: Session,
    user: Principal,
    as_of: date,
    offer_id: int,
    arrival_on: date,
    *,
    now: datetime,
    cache: ProblemCache | None = None,
) -> PlacementRow:
    """The person accepts: their stay begins on `arrival_on`. The hard rules are checked
    again on the state as it is now, without the person's own hold; 409 if the offer is not
    open, has expired, or a rule now forbids it, and nothing is stored."""
    expire_due(session, now, as_of, cache)
    try:
        locked = lock_for_write(session)
        offer = _open_offer(session, offer_id, now)
        if arrival_on < offer.made_at.date():
            raise ProblemInvalid([Issue(("body", "arrival_on"), "is before the offer was made")])
        referral = session.get(ReferralRow, offer.referral)
        assert referral is not None
        problem = _without_hold(_problem_now(session, cache, locked, as_of), offer, referral)
        assignment = Assignment(
            referral=offer.referral, bedspace=offer.bedspace, support_team=offer.support_team
        )
        _checked(problem, [assignment])
        offer.state = OfferState.accepted.value
        offer.closed_by, offer.closed_at, offer.arrival_on = user.username, now, arrival_on
        referral.status = "placed"
        resident = resident_from(referral, offer.bedspace, offer.support_team, arrival_on)
        session.add(resident)
        placement = PlacementRow(
            referral=referral.id,
            bedspace=offer.bedspace,
            support_team=offer.support_team,
            placed_on=as_of,
            placed_at=now,
            placed_by=user.username,
            run_id=offer.run_id,
        )
        session.add(placement)
        detail = f"offer {offer.id}: bed-space {offer.bedspace}, arriving {arrival_on.isoformat()}"
        audit.record(session, user, "offer_accept", "referral", referral.id, detail)
        audit.record(session, user, "place", "referral", referral.id, offer.bedspace)
        by_name_list.follow(session, user, referral.case_reference, ListEvent.placed, as_of)
        session.flush()
        change = StayChange.of([resident], as_of)
        change = StayChange(
            residents=change.residents, due=change.due, released=frozenset({offer.bedspace})
        )
        _commit(session, cache, locked, as_of, change)
    except IntegrityError:
        session.rollback()
        raise Conflict(f"offer {offer_id} changed at the same moment: try again") from None
    except BaseException:
        session.rollback()
        raise
    return placement


def _without_hold(problem: Problem, offer: OfferRow, referral: ReferralRow) -> Problem:
    """The problem as it would be had the offer never been made: the person waiting, their
    bed-space free, their team's place not taken, so the acceptance is checked as a placement."""
    person = Referral.model_validate(referral, from_attributes=True)
    residents = [r for r in problem.residents if r.id != offer.referral]
    referrals = sorted([*problem.referrals, person], key=lambda r: r.id)
    teams = [
        t.model_copy(update={"current_caseload": max(0, t.current_caseload - 1)})
        if t.id == offer.support_team
        else t
        for t in problem.support_teams
    ]
    return problem.model_copy(
        update={"residents": residents, "referrals": referrals, "support_teams": teams}
    )


def decline(
    session: Session,
    user: Principal,
    as_of: date,
    offer_id: int,
    code: DeclineReason,
    text: str | None,
    *,
    now: datetime,
    cache: ProblemCache | None = None,
) -> OfferRow:
    """The offer is declined, with a reason code (`other` needs the words why): the person
    waits again, and the bed-space is not offered to them again unless asked."""
    words = (text or "").strip()
    if code is DeclineReason.other and not words:
        raise ProblemInvalid([Issue(("body", "text"), "say why, for the reason 'other'")])
    detail = code.value + (f": {words}" if words else "")
    return _close(
        session, user, as_of, offer_id, OfferState.declined, "offer_decline", detail, now, cache,
        code=code.value, note=words or None,
    )  # fmt: skip


def withdraw(
    session: Session,
    user: Principal,
    as_of: date,
    offer_id: int,
    reason: str,
    *,
    now: datetime,
    cache: ProblemCache | None = None,
) -> OfferRow:
    """The coordinator withdraws the offer, saying why: the person waits again."""
    words = reason.strip()
    if not words:
        raise ProblemInvalid([Issue(("body", "reason"), "say why the offer is withdrawn")])
    return _close(
        session, user, as_of, offer_id, OfferState.withdrawn, "offer_withdraw", words, now, cache,
        note=words,
    )  # fmt: skip


def _close(
    session: Session,
    user: Principal,
    as_of: date,
    offer_id: int,
    state: OfferState,
    action: str,
    detail: str,
    now: datetime,
    cache: ProblemCache | None,
    code: str | None = None,
    note: str | None = None,
) -> OfferRow:
    expire_due(session, now, as_of, cache)
    try:
        locked = lock_for_write(session)
        offer = _open_offer(session, offer_id, now)
        change = _release(session, offer, state, user, now, code, note)
        audit.record(
            session, user, action, "referral", offer.referral, f"offer {offer.id}: {detail}"
        )
        session.flush()
        _commit(session, cache, locked, as_of, change)
    except BaseException:
        session.rollback()
        raise
    return offer


def _release(
    session: Session,
    offer: OfferRow,
    state: OfferState,
    user: Principal,
    now: datetime,
    code: str | None = None,
    note: str | None = None,
) -> StayChange:
    """Close an open offer (under the write lock): the person waits again, the bed-space and
    the team's place are free. The change, as the problem would read it back."""
    offer.state = state.value
    offer.closed_by, offer.closed_at = user.username, now
    offer.reason_code, offer.closing_note = code, note
    referral = session.get(ReferralRow, offer.referral)
    assert referral is not None
    referral.status = "waiting"
    teams = _move_caseload(session, offer.support_team, -1)
    return StayChange(
        teams=teams,
        gone=frozenset({offer.referral}),
        returned=(Referral.model_validate(referral, from_attributes=True),),
        released=frozenset({offer.bedspace}),
    )


# --- expiry -------------------------------------------------------------------------------


def expire_due(
    session: Session, now: datetime, as_of: date, cache: ProblemCache | None = None
) -> list[int]:
    """Close every open offer past its time, one audit event each, in one transaction; the
    offers expired. Nothing due: nothing written, the data version stays."""
    due = select(OfferRow).where(
        OfferRow.state == OfferState.open.value, OfferRow.expires_at <= now
    )
    if session.scalar(due.limit(1)) is None:
        session.rollback()
        return []
    session.rollback()
    try:
        locked = lock_for_write(session)
        expired: list[int] = []
        changes: list[StayChange] = []
        for offer in session.scalars(due.order_by(OfferRow.id)):
            changes.append(_release(session, offer, OfferState.expired, EXPIRY_RULE, now))
            detail = f"offer {offer.id}: open until {offer.expires_at:%Y-%m-%d %H:%M}, no answer"
            audit.record(session, EXPIRY_RULE, "offer_expire", "referral", offer.referral, detail)
            expired.append(offer.id)
        session.flush()
        _commit(session, cache, locked, as_of, _merged(changes))
    except BaseException:
        session.rollback()
        raise
    return expired


def _merged(changes: Sequence[StayChange]) -> StayChange:
    teams: dict[str, SupportTeam] = {}
    for change in changes:
        teams.update({t.id: t for t in change.teams})
    return StayChange(
        teams=tuple(teams.values()),
        gone=frozenset().union(*(c.gone for c in changes)),
        returned=tuple(r for c in changes for r in c.returned),
        released=frozenset().union(*(c.released for c in changes)),
    )
