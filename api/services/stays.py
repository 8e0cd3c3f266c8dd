"""Stays after they begin: how they end (reason and destination), transfers to another
bed-space, and a placement made in error undone within a day (LIFECYCLE.md, Stay).

A transfer is checked like a placement: the person's referral, as if waiting, in the new
bed-space on the state where they have left the old one, by the checker, under the write
lock; their support team goes with them where the team's rules allow, and where they do not
the answer says why, plainly, and which team (if any) takes the person on. A step along
the pathways (emergency to recovery, recovery to step-down, ...: from a unit of the person's
pathway into a unit of another) moves their referral onto the new pathway, so the rules that
depend on it (an intensive team for Housing First) are checked for the pathway they are now
on. The placement rows are the history of a
person's stays: a transfer adds one (`transfer_from` the old bed-space), an undo marks one
undone, and nothing is deleted but the stay the undo takes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import lock_for_write
from api.orm import PlacementRow, ReferralRow, ResidentRow, SupportTeamRow
from api.security import Principal
from api.services import audit, by_name_list
from api.services.assemble import ProblemCache, StayChange, build_problem
from api.services.errors import Conflict, NotFound
from api.services.list_status import ListEvent
from api.services.placements import _bedspaces_free, _commit, _present_resident
from constraints.checker import check
from constraints.staffing import team_may_serve, why_team_may_not_serve
from matcher.errors import Issue, ProblemInvalid
from matcher.model import Assignment, Pathway, Problem, Referral, Solution

# A placement made in error may be undone this long after it was made.
UNDO_WITHIN = timedelta(days=1)


@dataclass(frozen=True)
class Transferred:
    placement: PlacementRow
    pathway_from: Pathway
    pathway_to: Pathway
    # Why the person's team did not follow them, and who supports them now; None where the
    # team followed or the coordinator chose the team.
    team_note: str | None = None


def transfer(
    session: Session,
    user: Principal,
    as_of: date,
    resident_id: str,
    bedspace_id: str,
    reason: str,
    support_team: str | None = None,
    cache: ProblemCache | None = None,
) -> Transferred:
    """Move a resident to another bed-space (a step up or down between pathways included):
    409 naming every rule the move would break, or the bed-space's occupant; nothing
    changes then."""
    if not reason.strip():
        raise ProblemInvalid([Issue(("body", "reason"), "say why the person moves")])
    locked = lock_for_write(session)
    try:
        resident = _present_resident(session, resident_id)
        if resident.bedspace == bedspace_id:
            raise Conflict(f"resident {resident_id!r} is already in bed-space {bedspace_id!r}")
        referral_row = session.get(ReferralRow, resident_id)
        if referral_row is None:
            raise Conflict(f"resident {resident_id!r} has no referral to check a move against")
        _bedspaces_free(session, [bedspace_id], as_of)
        team = support_team if support_team is not None else resident.support_team
        if support_team is not None and session.get(SupportTeamRow, support_team) is None:
            raise NotFound("support team", support_team)

        # The state with the person gone from their bed-space and waiting again, their team's
        # case freed: the move is then a placement, checked as one.
        problem = build_problem(session, as_of)
        teams = [
            t.model_copy(update={"current_caseload": t.current_caseload - 1})
            if t.id == resident.support_team and t.current_caseload > 0
            else t
            for t in problem.support_teams
        ]
        pathway_from = Pathway(referral_row.pathway)
        person = Referral.model_validate(referral_row, from_attributes=True).model_copy(
            update={
                "pathway": _pathway_after_move(
                    problem, pathway_from, resident.bedspace, bedspace_id
                )
            }
        )
        moving = problem.model_copy(
            update={
                "residents": [r for r in problem.residents if r.id != resident_id],
                "referrals": [*problem.referrals, person],
                "support_teams": teams,
            }
        )
        team, team_note = _first_team_that_passes(
            moving, person, bedspace_id, team, support_team is None
        )
        old_bed, old_team = resident.bedspace, resident.support_team
        if person.pathway is not pathway_from:
            referral_row.pathway = person.pathway.value
        resident.bedspace = bedspace_id
        resident.support_team = team
        changed_teams: list[SupportTeamRow] = []
        if old_team != team:
            for team_id, step in ((old_team, -1), (team, +1)):
                row = session.get(SupportTeamRow, team_id) if team_id is not None else None
                if row is not None:
                    row.current_caseload = max(0, row.current_caseload + step)
                    changed_teams.append(row)
        placement = PlacementRow(
            referral=resident_id,
            bedspace=bedspace_id,
            support_team=team,
            placed_on=as_of,
            placed_at=audit.now(),
            placed_by=user.username,
            transfer_from=old_bed,
        )
        session.add(placement)
        detail = f"{old_bed} -> {bedspace_id}"
        if person.pathway is not pathway_from:
            detail += f"; pathway {pathway_from.value} -> {person.pathway.value}"
        if team_note:
            detail += f"; {team_note}"
        audit.record(session, user, "transfer", "resident", resident_id, detail)
        session.flush()
        change = StayChange.of([resident], as_of, changed_teams)
        _commit(session, cache, locked, as_of, change)
    except BaseException:
        session.rollback()
        raise
    return Transferred(placement, pathway_from, person.pathway, team_note)


def _pathway_after_move(problem: Problem, person_on: Pathway, here: str, there: str) -> Pathway:
    """The pathway a person is on after a move: the new unit's, where they were on the
    pathway of the unit they leave and the new unit is on another (a step along the
    pathways); otherwise theirs, so that someone referred for Housing First and waiting in a
    crisis bed does not lose it by a move between two crisis units."""
    unit_of = {b.id: b.unit for b in problem.bedspaces}
    pathway_of = {u.id: u.pathway for u in problem.units}
    leaving, arriving = pathway_of[unit_of[here]], pathway_of[unit_of[there]]
    return arriving if person_on is leaving and arriving is not leaving else person_on


def _first_team_that_passes(
    problem: Problem, person: Referral, bedspace_id: str, team: str | None, may_change: bool
) -> tuple[str | None, str | None]:
    """The team the moved person has in the new bed-space: theirs if the checker lets it
    serve there, else (unless the coordinator named one) the team with most room that may,
    with a sentence saying why their team could not follow; `Conflict` with every rule
    broken by the first try if none passes."""
    unit_id = next(b.unit for b in problem.bedspaces if b.id == bedspace_id)
    unit = next(u for u in problem.units if u.id == unit_id)
    tries = [team]
    if may_change:
        others = sorted(
            (
                t
                for t in problem.support_teams
                if t.id != team
                and t.current_caseload < t.caseload_capacity
                and team_may_serve(person, unit, t)
            ),
            key=lambda t: (t.current_caseload - t.caseload_capacity, t.id),
        )
        tries += [t.id for t in others] + ([None] if team is not None else [])
    first: list[str] = []
    for candidate in tries:
        move = Assignment(referral=person.id, bedspace=bedspace_id, support_team=candidate)
        violations = check(problem, Solution(assignments=[move]))
        if not violations:
            if candidate == team or team is None:
                return candidate, None
            own = next((t for t in problem.support_teams if t.id == team), None)
            said = why_team_may_not_serve(person, unit, own) if own is not None else []
            why = "; ".join(said or [m.rstrip(".") for m in first])
            now = f"team {candidate} supports them now" if candidate else "they have no team now"
            return (
                candidate,
                f"support team {team} cannot follow: {why}. {now[:1].upper()}{now[1:]}.",
            )
        first = first or sorted({v.message for v in violations})
    raise Conflict("the move breaks hard rules", first)


def undo_placement(
    session: Session, user: Principal, placement_id: int, reason: str, now: datetime
) -> PlacementRow:
    """Take back a placement made in error, within a day of it: the person waits again, the
    bed-space is free, their team's case is freed. 409 past a day, after a move-out or a
    later transfer, for a transfer (moved back by a transfer, which is checked), or for a
    placement already undone."""
    if not reason.strip():
        raise ProblemInvalid([Issue(("body", "reason"), "say why the placement is undone")])
    lock_for_write(session)
    try:
        placement = session.get(PlacementRow, placement_id)
        if placement is None:
            raise NotFound("placement", str(placement_id))
        if placement.undone_at is not None:
            raise Conflict(f"placement {placement_id} was already undone")
        if now - placement.placed_at > UNDO_WITHIN:
            raise Conflict(
                f"placement {placement_id} was made more than a day ago: record a move-out instead"
            )
        later = session.scalars(
            select(PlacementRow).where(
                PlacementRow.referral == placement.referral,
                PlacementRow.id > placement.id,
                PlacementRow.undone_at.is_(None),
            )
        ).first()
        if later is not None:
            raise Conflict(f"the person has moved since placement {placement_id}: undo that first")
        resident = session.get(ResidentRow, placement.referral)
        if resident is None or resident.left_on is not None:
            raise Conflict(f"the stay of placement {placement_id} has ended: it cannot be undone")
        referral = session.get(ReferralRow, placement.referral)
        if referral is None:
            raise Conflict(f"placement {placement_id} has no referral to return to waiting")
        if placement.transfer_from is not None:
            raise Conflict(
                f"placement {placement_id} is a transfer: move the person back with a transfer, "
                "which checks the rules for the bed-space they return to"
            )
        if resident.support_team is not None:
            team = session.get(SupportTeamRow, resident.support_team)
            if team is not None:
                team.current_caseload = max(0, team.current_caseload - 1)
        session.delete(resident)
        referral.status = "waiting"
        placement.undone_at = now
        placement.undone_by = user.username
        placement.undo_reason = reason.strip()
        audit.record(
            session, user, "undo_placement", "referral", placement.referral, reason.strip()
        )
        by_name_list.follow(
            session, user, referral.case_reference, ListEvent.placement_undone, now.date()
        )
        session.commit()  # the cache reads the new state: a person waits again
    except BaseException:
        session.rollback()
        raise
    return placement


__all__ = ["UNDO_WITHIN", "Transferred", "transfer", "undo_placement"]
