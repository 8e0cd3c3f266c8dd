"""The By Name List: the people the service keeps accountable for, in or out of a building
(002_dcd69be417dc9cc0.txt), by cohort and status, with their dated, attributed history.

A person is their case reference (`ReferralRow.case_reference`), across referrals; they may be
listed with no referral or bed-space at all. Statuses move only by the events that cause them
(`api.services.list_status`). The placement, move-out, offer and referral paths tell the list
what happened (`follow`); a coordinator asks for a status change by naming its event, and the
event must have happened: a placement on record, a move-out to a settled home, no contact for
the service's inactivity threshold, a referral after being housed. Every step is a history
row and an audit event, committed together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.orm import ListHistoryRow, ListMemberRow, ReferralRow, ResidentRow
from api.security import Principal, Role
from api.services import audit, service_settings
from api.services.departure_reasons import Destination
from api.services.errors import Conflict, NotFound
from api.services.list_status import (
    JOINING,
    Cohort,
    ListEvent,
    ListStatus,
    TransitionRefused,
    after,
    events_leading_to,
)
from matcher.errors import Issue, ProblemInvalid

# No contact for this many days moves an active person to inactive (Built for Zero's
# inactivity threshold); an admin may change it (`service_settings.LIST_INACTIVE_DAYS`).
DEFAULT_INACTIVE_DAYS = 90
INACTIVE_DAYS_MAX = 3650
# Where a move-out counts as housed: a tenancy of the person's own.
SETTLED = frozenset(
    {Destination.own_tenancy, Destination.social_housing, Destination.private_rented}
)
# Who the service itself acts as when it marks quiet people inactive (not a valid username).
SERVICE = Principal("(bedmatch)", Role.admin)


def inactive_days(session: Session) -> int:
    stored = service_settings.get(session, service_settings.LIST_INACTIVE_DAYS)
    return DEFAULT_INACTIVE_DAYS if stored is None else int(stored)


def set_inactive_days(session: Session, user: Principal, days: int) -> None:
    """Change the inactivity threshold, audited old -> new (committed)."""
    if not 1 <= days <= INACTIVE_DAYS_MAX:
        raise ProblemInvalid([Issue(("body", "days"), f"must be 1 to {INACTIVE_DAYS_MAX} days")])
    before = inactive_days(session)
    key = service_settings.LIST_INACTIVE_DAYS
    service_settings.put(session, key, str(days), user.username)
    audit.record(session, user, "setting", "service_setting", key, f"{before} -> {days}")
    session.commit()


# --- reading ---------------------------------------------------------------------------


def member(session: Session, member_id: int) -> ListMemberRow:
    row = session.get(ListMemberRow, member_id)
    if row is None:
        raise NotFound("By Name List entry", member_id)
    return row


def history(session: Session, member_id: int) -> list[ListHistoryRow]:
    return list(
        session.scalars(
            select(ListHistoryRow)
            .where(ListHistoryRow.member_id == member_id)
            .order_by(ListHistoryRow.id)
        )
    )


def listed(session: Session) -> list[ListMemberRow]:
    """Everyone on the list now, by cohort then name."""
    rows = session.scalars(select(ListMemberRow).where(ListMemberRow.left_on.is_(None)))
    order = list(Cohort)
    return sorted(rows, key=lambda m: (order.index(Cohort(m.cohort)), m.name or "", m.id))


def referrals_of(session: Session, case_references: list[str]) -> dict[str, list[ReferralRow]]:
    """Each person's referrals, oldest first."""
    found: dict[str, list[ReferralRow]] = {}
    for start in range(0, len(case_references), 500):
        chunk = case_references[start : start + 500]
        for row in session.scalars(
            select(ReferralRow)
            .where(ReferralRow.case_reference.in_(chunk))
            .order_by(ReferralRow.referred, ReferralRow.id)
        ):
            found.setdefault(str(row.case_reference), []).append(row)
    return found


def _stays(session: Session, referral_ids: list[str]) -> list[ResidentRow]:
    if not referral_ids:
        return []
    return list(session.scalars(select(ResidentRow).where(ResidentRow.id.in_(referral_ids))))


# --- writing ---------------------------------------------------------------------------


def _step(
    session: Session,
    user: Principal,
    row: ListMemberRow,
    event: str,
    to_status: ListStatus | None,
    on: date,
    note: str = "",
) -> None:
    """One history row and its audit event, in the caller's transaction."""
    from_status = None if event in JOINING else row.status
    if to_status is not None:
        row.status = to_status.value
    session.add(
        ListHistoryRow(
            member_id=row.id,
            event=event,
            from_status=from_status,
            to_status=None if to_status is None else to_status.value,
            on=on,
            at=audit.now(),
            by=user.username,
            note=note,
        )
    )
    moved = f"{from_status or 'new'} -> {to_status.value if to_status else 'left'}"
    audit.record(session, user, f"list_{event}", "list_member", str(row.id), moved)


def add(
    session: Session,
    user: Principal,
    today: date,
    case_reference: str,
    cohort: Cohort,
    name: str | None = None,
    note: str = "",
) -> ListMemberRow:
    """Put a person on the list: active, or in placement if they are in a bed-space now.
    409 if they are on it already; 422 naming `name` for a person the service has no
    referral for and no name given."""
    case_reference = case_reference.strip()
    already = session.scalar(
        select(ListMemberRow).where(
            ListMemberRow.case_reference == case_reference, ListMemberRow.left_on.is_(None)
        )
    )
    if already is not None:
        session.rollback()
        raise Conflict(
            f"{case_reference!r} is already on the By Name List "
            f"({already.cohort}, {already.status}, since {already.joined_on.isoformat()})"
        )
    referrals = referrals_of(session, [case_reference]).get(case_reference, [])
    if not (name and name.strip()):
        named = [r.name for r in referrals if r.name]
        if not named:
            session.rollback()
            raise ProblemInvalid(
                [Issue(("body", "name"), "give a name: no referral has this case reference")]
            )
        name = named[-1]
    placed = any(s.left_on is None for s in _stays(session, [r.id for r in referrals]))
    event = ListEvent.joined_in_placement if placed else ListEvent.joined
    row = ListMemberRow(
        case_reference=case_reference,
        name=name.strip(),
        cohort=cohort.value,
        status=JOINING[event].value,
        joined_on=today,
        joined_by=user.username,
        last_contact_on=today,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(
            f"{case_reference!r} was added to the By Name List at the same moment"
        ) from None
    _step(session, user, row, event.value, JOINING[event], today, note)
    session.commit()
    return row


def _listed(session: Session, member_id: int) -> ListMemberRow:
    # Locked (PostgreSQL) so two steps at once cannot both start from the same status.
    row = session.get(ListMemberRow, member_id, with_for_update=True)
    if row is None:
        raise NotFound("By Name List entry", member_id)
    if row.left_on is not None:
        raise Conflict(f"By Name List entry {member_id} left the list on {row.left_on.isoformat()}")
    return row


def change_status(
    session: Session,
    user: Principal,
    today: date,
    member_id: int,
    status: ListStatus,
    event: ListEvent,
    note: str = "",
) -> ListMemberRow:
    """Move a person to `status` by `event`: 409 naming why when the event does not lead
    there from where they are, or has not happened; nothing changes then."""
    try:
        row = _listed(session, member_id)
        current = ListStatus(row.status)
        try:
            target = after(current, event)
        except TransitionRefused as refused:
            raise Conflict(str(refused), _ways(current, status)) from None
        if target is not status:
            raise Conflict(
                f"{event.value} moves a person who is {current.value} to {target.value}, "
                f"not {status.value}",
                _ways(current, status),
            )
        _happened(session, row, event, today)
        if event is ListEvent.contact:
            row.last_contact_on = today
        _step(session, user, row, event.value, target, today, note)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def _ways(current: ListStatus, wanted: ListStatus) -> list[str]:
    ways = events_leading_to(current, wanted)
    if not ways:
        return [f"Nothing moves a person who is {current.value} to {wanted.value}."]
    return [f"From {current.value} to {wanted.value}: {', '.join(e.value for e in ways)}."]


def _happened(session: Session, row: ListMemberRow, event: ListEvent, today: date) -> None:
    """409 unless the facts on record show `event` happened to this person."""
    referrals = referrals_of(session, [row.case_reference]).get(row.case_reference, [])
    stays = _stays(session, [r.id for r in referrals])
    present = [s for s in stays if s.left_on is None]
    ended = sorted((s for s in stays if s.left_on is not None), key=lambda s: s.left_on or today)
    if event is ListEvent.placed and not present:
        raise Conflict("no placement is recorded for this person: place them, and the list follows")
    if event is ListEvent.placement_undone and present:
        raise Conflict("this person is still in a bed-space: undo the placement itself")
    if event in (ListEvent.moved_out_settled, ListEvent.moved_out_unsettled):
        if present or not ended:
            raise Conflict("no move-out is recorded for this person: record the move-out")
        settled = ended[-1].destination in SETTLED
        if settled != (event is ListEvent.moved_out_settled):
            where = ended[-1].destination or "not recorded"
            raise Conflict(f"the last move-out's destination ({where}) says otherwise")
    if event is ListEvent.no_contact:
        days = inactive_days(session)
        quiet = (today - row.last_contact_on).days
        if quiet < days:
            raise Conflict(
                f"last contact was {quiet} days ago: a person becomes inactive after {days} "
                "days without contact"
            )
    if event is ListEvent.new_referral:
        housed_on = _last_moved_to(session, row.id, ListStatus.housed)
        if not any(housed_on is None or r.referred >= housed_on for r in referrals):
            raise Conflict("no referral is recorded for this person since they were housed")


def _last_moved_to(session: Session, member_id: int, status: ListStatus) -> date | None:
    days = [h.on for h in history(session, member_id) if h.to_status == status.value]
    return days[-1] if days else None


def record_contact(
    session: Session, user: Principal, today: date, member_id: int, note: str = ""
) -> ListMemberRow:
    """Contact with the person today: an inactive person is active again."""
    row = _listed(session, member_id)
    return change_status(
        session,
        user,
        today,
        member_id,
        after(ListStatus(row.status), ListEvent.contact),
        ListEvent.contact,
        note,
    )


def leave(
    session: Session, user: Principal, today: date, member_id: int, reason: str
) -> ListMemberRow:
    """Take a person off the list, with why (422 naming `reason` without one)."""
    if not reason.strip():
        raise ProblemInvalid([Issue(("body", "reason"), "say why the person leaves the list")])
    try:
        row = _listed(session, member_id)
        row.left_on, row.left_by, row.left_reason = today, user.username, reason.strip()
        _step(session, user, row, "left", None, today, reason.strip())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return row


def follow(
    session: Session, user: Principal, case_reference: str | None, event: ListEvent, on: date
) -> None:
    """What happened elsewhere in the service (a placement, a move-out, a referral), told to
    the list in the caller's transaction: a listed person moves on if the event applies to
    where they are; otherwise, or for someone not listed, nothing changes. Never refuses:
    the placement or move-out itself was already allowed."""
    if not case_reference:
        return
    row = session.scalar(
        select(ListMemberRow)
        .where(ListMemberRow.case_reference == case_reference, ListMemberRow.left_on.is_(None))
        .with_for_update()
    )
    if row is None:
        return
    try:
        target = after(ListStatus(row.status), event)
    except TransitionRefused:
        return
    row.last_contact_on = max(row.last_contact_on, on)
    _step(session, user, row, event.value, target, on)


def case_reference_of(session: Session, referral_id: str) -> str | None:
    row = session.get(ReferralRow, referral_id)
    return None if row is None else row.case_reference


def moved_out_event(destination: str | None) -> ListEvent:
    settled = destination in SETTLED
    return ListEvent.moved_out_settled if settled else ListEvent.moved_out_unsettled


def mark_quiet_inactive(session: Session, today: date) -> list[int]:
    """Everyone active or returned with no contact for the inactivity threshold becomes
    inactive, as the service; the entries changed. Commits only when something changed."""
    cutoff = today - timedelta(days=inactive_days(session))
    quiet = list(
        session.scalars(
            select(ListMemberRow)
            .where(
                ListMemberRow.left_on.is_(None),
                ListMemberRow.status.in_([ListStatus.active.value, ListStatus.returned.value]),
                ListMemberRow.last_contact_on <= cutoff,
            )
            .with_for_update()
        )
    )
    for row in quiet:
        _step(session, SERVICE, row, ListEvent.no_contact.value, ListStatus.inactive, today)
    if quiet:
        session.commit()
    return [row.id for row in quiet]


@dataclass(frozen=True)
class Counts:
    """How many people are in each cohort and status, and the share of the list each is."""

    total: int
    by_cohort: dict[str, int]
    by_status: dict[str, int]

    def share(self, n: int) -> float:
        return n / self.total if self.total else 0.0


def counts(rows: list[ListMemberRow]) -> Counts:
    by_cohort = {c.value: 0 for c in Cohort}
    by_status = {s.value: 0 for s in ListStatus}
    for row in rows:
        by_cohort[row.cohort] += 1
        by_status[row.status] += 1
    return Counts(len(rows), by_cohort, by_status)
