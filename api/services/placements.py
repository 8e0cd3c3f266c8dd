"""Placing people: one by one from a ranking, or many at once from an accepted batch run.

Every placement is stored under the write lock (`api.db.lock_for_write`) only once the
checker (`constraints.checker.check`) has passed it, with everything else placed in the same
transaction, on the state it is stored into: the state read before the lock when nothing was
written since, else that state read again under the lock. So two coordinators choosing the
same bed-space at the same moment get one placement and one 409, and a placement a hard rule
forbids is never stored, whatever the ranking said earlier. The unique index on present
residents per bed-space backs this up in the database itself.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.db import data_version, lock_for_write
from api.orm import (
    BedSpaceRow,
    OverrideRow,
    PlacementRow,
    ReferralRow,
    ResidentRow,
    SupportTeamRow,
)
from api.security import Principal
from api.services import audit, by_name_list
from api.services.assemble import ProblemCache, StayChange, build_problem
from api.services.departure_reasons import DepartureReason, Destination, note_departure
from api.services.errors import Conflict, NotFound, not_waiting
from api.services.list_status import ListEvent
from api.services.ranking import ensure_waiting, rank_waiting
from constraints.checker import check
from matcher.errors import Issue, PlacementRefused, ProblemInvalid
from matcher.model import Assignment, Problem, Solution
from matcher.ranking import RankingContext, build_context, override


@dataclass(frozen=True)
class Placed:
    placements: list[PlacementRow]
    override: OverrideRow | None = None


def place(
    session: Session,
    user: Principal,
    as_of: date,
    referral_id: str,
    bedspace_id: str,
    support_team: str | None = None,
    reason: str | None = None,
    cache: ProblemCache | None = None,
) -> Placed:
    """Place one referral (and any `keep_together` partners) into a bed-space.

    The top-ranked placement needs no reason; any other safe one needs the coordinator's
    reason and is kept as an override. A placement a hard rule forbids is refused (409).

    The ranking that decides whether a reason is needed is read before the write lock
    (from `cache` when given), and the checker decides safety on the state it read. Under the
    write lock, if nothing was written since, that state is the state and the check stands;
    otherwise the state is read again and checked again, so what is stored is always safe on
    the state it is stored into.
    """
    with _one_placement_at_a_time:
        return _place(session, user, as_of, referral_id, bedspace_id, support_team, reason, cache)


# Placements in this process, one at a time. Their work is CPU under the interpreter lock, so
# two at once only take turns with each other and with the event loop answering rankings; and
# each is checked against the state it read, which a placement committed meanwhile makes stale
# (then re-checked under the write lock). One at a time, most are checked before the write
# lock and hold it only to write, so the read events of rankings waiting for it commit at once.
_one_placement_at_a_time = threading.Lock()


def _place(
    session: Session,
    user: Principal,
    as_of: date,
    referral_id: str,
    bedspace_id: str,
    support_team: str | None,
    reason: str | None,
    cache: ProblemCache | None,
) -> Placed:
    try:
        referral = session.get(ReferralRow, referral_id)
        if referral is None:
            raise NotFound("referral", referral_id)
        if session.get(BedSpaceRow, bedspace_id) is None:
            raise NotFound("bed-space", bedspace_id)
        if support_team is not None and session.get(SupportTeamRow, support_team) is None:
            raise NotFound("support team", support_team)
        if referral.status != "waiting":
            raise not_waiting(referral_id, referral.status)
        _bedspaces_free(session, [bedspace_id], as_of)

        if cache is not None:
            version, problem, context = cache.snapshot(session, as_of, "ranking", build_context)
        else:
            version = data_version(session)
            problem = build_problem(session, as_of)
            context = build_context(problem)
        # The state read for the ranking may be newer than the row read above: someone
        # placed this person in between. Say so (409), as for any other lost race.
        ensure_waiting(session, context, referral_id, doing="placed")
        note: OverrideRow | None = None
        if reason is not None and reason.strip():
            decision = override(context, referral_id, bedspace_id, reason, support_team)
            assignments = decision.assignments
            note = OverrideRow(
                referral=referral_id,
                bedspace=bedspace_id,
                recommended=decision.top_bedspace,
                chosen_rank=decision.rank,
                reason=reason.strip(),
                by=user.username,
                at=audit.now(),
            )
        else:
            assignments = _top_choice(session, context, referral_id, bedspace_id, support_team)
        _refuse_if_unsafe(problem, assignments)  # on the state read; again below if it moved

        session.rollback()  # end the reads; the write transaction starts with the lock
        locked = lock_for_write(session)
        checked = locked == version + 1
        if not checked:  # someone wrote meanwhile: the state at `locked - 1`
            if cache is None:
                problem = build_problem(session, as_of)
            else:
                known = cache.problem_at(locked - 1, as_of)
                problem = known if known is not None else cache.read(session, as_of)
        rows, change = _store(session, user, problem, assignments, run_id=None, checked=checked)
        if note is not None:
            note.placement_id = rows[0].id
            session.add(note)
            audit.record(session, user, "override", "referral", referral_id, note.reason)
        _commit(session, cache, locked, as_of, change)
    except PlacementRefused as refused:
        session.rollback()
        raise Conflict(str(refused), refused.reasons) from None
    except BaseException:
        session.rollback()
        raise
    return Placed(rows, note)


def _commit(
    session: Session, cache: ProblemCache | None, locked: int, as_of: date, change: StayChange
) -> None:
    """Commit the write transaction that took the data to version `locked`, with its change
    staged in the cache first (see `ProblemCache.stage`)."""
    staged = cache.stage(locked - 1, locked, as_of, change) if cache is not None else None
    try:
        session.commit()
    except BaseException:
        if cache is not None and staged is not None:
            cache.settle(staged, committed=False)
        raise
    if cache is not None and staged is not None:
        cache.settle(staged, committed=True)


def _top_choice(
    session: Session,
    context: RankingContext,
    referral_id: str,
    bedspace_id: str,
    support_team: str | None,
) -> list[Assignment]:
    # Most placements take the first place shown, which the first place alone confirms;
    # working out every safe placement's terms cost more than the rest of a placement among
    # 10,000 bed-spaces. Another rank, or a tie for first, needs the whole list; every safe
    # placement is in a summary, and only a refusal needs the excluded units' reasons, which
    # the full ranking words.
    _, ranking = rank_waiting(
        session, referral_id, context=context, top=1, cost_top=0, detail="summary"
    )
    if all(placement.bedspace != bedspace_id for placement in ranking.ranked):
        _, ranking = rank_waiting(
            session, referral_id, context=context, cost_top=0, detail="summary"
        )
    if all(placement.bedspace != bedspace_id for placement in ranking.ranked):
        _, ranking = rank_waiting(session, referral_id, context=context, cost_top=0)
    for placement in ranking.ranked:
        if placement.bedspace != bedspace_id:
            continue
        if placement.rank != 1:
            raise ProblemInvalid(
                [
                    Issue(
                        ("body", "reason"),
                        f"bed-space {bedspace_id!r} ranks {placement.rank}, not first: "
                        "give a reason to override the ranking",
                    )
                ]
            )
        team = support_team if support_team is not None else placement.support_team
        return [Assignment(referral=referral_id, bedspace=bedspace_id, support_team=team)] + [
            Assignment(referral=p.referral, bedspace=p.bedspace, support_team=p.support_team)
            for p in placement.partners
        ]
    for excluded in ranking.excluded:
        fields = excluded if isinstance(excluded, dict) else vars(excluded)
        if bedspace_id in fields["bedspaces"]:
            raise PlacementRefused(referral_id, bedspace_id, fields["rules"], fields["reasons"])
    raise PlacementRefused(
        referral_id, bedspace_id, ["not_a_safe_placement"], ["Not among the safe placements."]
    )


def _bedspaces_free(session: Session, bedspace_ids: Sequence[str], as_of: date) -> None:
    """Refuse (409) if anyone is still in any of the bed-spaces: a resident leaves only by a
    recorded move-out, so one past their expected leaving date holds a bed-space due to leave,
    which nobody may take until the move-out is recorded (LIFECYCLE.md)."""
    occupants = session.scalars(
        select(ResidentRow).where(
            ResidentRow.bedspace.in_(bedspace_ids), ResidentRow.left_on.is_(None)
        )
    ).all()
    if not occupants:
        return
    due = sorted(
        r.bedspace for r in occupants if r.expected_leave is not None and r.expected_leave <= as_of
    )
    taken = sorted(r.bedspace for r in occupants if r.bedspace not in due)
    names = ", ".join(repr(b) for b in due + taken)
    what = "is due to leave: record its resident's move-out first" if due else "is already taken"
    raise Conflict(
        f"bed-space {names} {what}",
        [
            f"Bed-space {b} is due to leave: its resident's expected leaving date has passed "
            "but no move-out is recorded. Record the move-out before placing someone there."
            for b in due
        ]
        + [f"Bed-space {b} is taken: someone is placed there." for b in taken],
    )


def resident_from(
    referral: ReferralRow, bedspace: str, support_team: str | None, arrived: date | None
) -> ResidentRow:
    """The resident a placed referral becomes: their facts as the referral holds them."""
    return ResidentRow(
        id=referral.id,
        bedspace=bedspace,
        gender=referral.gender,
        age=referral.age,
        risk=referral.risk,
        flags=list(referral.flags),
        support_hours=referral.support_hours,
        arrived=arrived,
        expected_leave=None,
        support_team=support_team,
    )


def _store(
    session: Session,
    user: Principal,
    problem: Problem,
    assignments: Sequence[Assignment],
    run_id: int | None,
    checked: bool = False,
) -> tuple[list[PlacementRow], StayChange]:
    """Re-check the assignments on the locked state (unless already `checked` against this
    very `problem`), then write residents and placements; the rows, and the change as the
    problem would read it back."""
    _bedspaces_free(session, [a.bedspace for a in assignments], problem.as_of)
    if not checked:
        _refuse_if_unsafe(problem, assignments)
    stamp = audit.now()
    rows = []
    residents: list[ResidentRow] = []
    teams: dict[str, SupportTeamRow] = {}
    for a in assignments:
        referral = session.get(ReferralRow, a.referral)
        if referral is None or referral.status != "waiting":
            raise Conflict(f"referral {a.referral!r} is not waiting")
        referral.status = "placed"
        resident = resident_from(referral, a.bedspace, a.support_team, arrived=None)
        session.add(resident)
        residents.append(resident)
        if a.support_team is not None:
            team = session.get(SupportTeamRow, a.support_team)
            if team is not None:
                team.current_caseload += 1
                teams[team.id] = team
        row = PlacementRow(
            referral=a.referral,
            bedspace=a.bedspace,
            support_team=a.support_team,
            placed_on=problem.as_of,
            placed_at=stamp,
            placed_by=user.username,
            run_id=run_id,
        )
        session.add(row)
        rows.append(row)
        audit.record(session, user, "place", "referral", a.referral, a.bedspace)
        by_name_list.follow(session, user, referral.case_reference, ListEvent.placed, problem.as_of)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            "a bed-space was taken by another placement at the same moment",
            ["Bed-space already holds someone."],
        ) from None
    return rows, StayChange.of(residents, problem.as_of, teams.values())


def _refuse_if_unsafe(problem: Problem, assignments: Sequence[Assignment]) -> None:
    """409 with every reason if the checker finds a hard rule the assignments break."""
    violations = check(problem, Solution(assignments=list(assignments)))
    if violations:
        raise Conflict("the placement breaks hard rules", sorted({v.message for v in violations}))


def place_many(
    session: Session,
    user: Principal,
    as_of: date,
    assignments: Sequence[Assignment],
    run_id: int | None,
) -> list[PlacementRow]:
    """Place a batch in one transaction: all of it, or (on any refusal) none of it."""
    lock_for_write(session)
    try:
        problem = build_problem(session, as_of)
        rows, _ = _store(session, user, problem, assignments, run_id)
        return rows
    except BaseException:
        session.rollback()
        raise


def move_out(
    session: Session,
    user: Principal,
    as_of: date,
    resident_id: str,
    on: date,
    cache: ProblemCache | None = None,
    reason: DepartureReason | None = None,
    destination: Destination | None = None,
    note: str | None = None,
) -> ResidentRow:
    """Record a move-out: on or before the placement date the bed-space frees now;
    a later date is kept as the expected leaving date (the vacancy board shows it). The
    reason and destination are kept with it, for the returns."""
    locked = lock_for_write(session)
    try:
        resident = _present_resident(session, resident_id)
        if resident.arrived is not None and on < resident.arrived:
            raise ProblemInvalid([Issue(("body", "on"), "is before the arrival date")])
        resident.expected_leave = on
        note_departure(resident, reason, destination, note)
        if on <= as_of:
            team = depart(session, resident, on)
            change = StayChange.of((), as_of, [team] if team else [], gone=[resident_id])
            by_name_list.follow(
                session,
                user,
                by_name_list.case_reference_of(session, resident_id),
                by_name_list.moved_out_event(resident.destination),
                on,
            )
        else:
            change = StayChange.of([resident], as_of)
        audit.record(session, user, "move_out", "resident", resident_id, on.isoformat())
        session.flush()
        _commit(session, cache, locked, as_of, change)
    except BaseException:
        session.rollback()
        raise
    return resident


def _present_resident(session: Session, resident_id: str) -> ResidentRow:
    """The resident, still in their bed-space: 404 if unknown, 409 if moved out."""
    resident = session.get(ResidentRow, resident_id)
    if resident is None:
        raise NotFound("resident", resident_id)
    if resident.left_on is not None:
        raise Conflict(f"resident {resident_id!r} has already moved out")
    return resident


def depart(session: Session, resident: ResidentRow, on: date) -> SupportTeamRow | None:
    """The resident left on `on`: their bed-space frees and their team's caseload drops
    (under the write lock; the caller audits and commits). The team, if its caseload
    changed."""
    resident.left_on = on
    if resident.support_team is not None:
        team = session.get(SupportTeamRow, resident.support_team)
        if team is not None and team.current_caseload > 0:
            team.current_caseload -= 1
            return team
    return None


def arrive(
    session: Session,
    user: Principal,
    resident_id: str,
    on: date,
    as_of: date | None = None,
    cache: ProblemCache | None = None,
) -> ResidentRow:
    """Record the day a placed person arrived (`as_of`: the placement date the cache's
    problem is cut at, to carry the change over to it)."""
    locked = lock_for_write(session)
    try:
        resident = _present_resident(session, resident_id)
        resident.arrived = on
        audit.record(session, user, "arrival", "resident", resident_id, on.isoformat())
        session.flush()
        if as_of is None:
            session.commit()
        else:
            _commit(session, cache, locked, as_of, StayChange.of([resident], as_of))
    except BaseException:
        session.rollback()
        raise
    return resident
