"""Arrivals and move-outs due: the stays a coordinator has to act on today.

Arriving: people placed, or whose offer was accepted, who have not arrived (no arrival
recorded, or an arrival date still ahead), the longest placed first. Leaving: residents whose
expected leaving date is within `LEAVING_WITHIN_DAYS` or already past with no move-out
recorded. Names and case references are personal data: callers show them only to roles that
may see people, and record the read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.orm import BedSpaceRow, PlacementRow, ReferralRow, ResidentRow, UnitRow

LEAVING_WITHIN_DAYS = 14


@dataclass(frozen=True)
class DueStay:
    resident: str
    name: str | None
    case_reference: str | None
    unit: str  # the unit's name
    bedspace: str
    placed_on: date | None  # of the placement that began this stay
    arrival_on: date | None  # the date an arrival is expected or was recorded, if any
    expected_leave: date | None

    def days_from(self, as_of: date, day: date | None) -> int | None:
        return None if day is None else (day - as_of).days


@dataclass(frozen=True)
class StaysDue:
    as_of: date
    arriving: list[DueStay]
    leaving: list[DueStay]

    @property
    def people(self) -> list[str]:
        return [s.resident for s in (*self.arriving, *self.leaving)]


def stays_due(session: Session, as_of: date) -> StaysDue:
    """Who is due to arrive and who is due to leave, seen on `as_of`."""
    open_stays = session.scalars(select(ResidentRow).where(ResidentRow.left_on.is_(None))).all()
    ids = [r.id for r in open_stays]
    referrals = {
        r.id: r for r in session.scalars(select(ReferralRow).where(ReferralRow.id.in_(ids)))
    }
    placed_on: dict[str, date] = {}
    for placement in session.scalars(
        select(PlacementRow)
        .where(PlacementRow.referral.in_(ids), PlacementRow.undone_at.is_(None))
        .order_by(PlacementRow.id)
    ):
        placed_on[placement.referral] = placement.placed_on  # the latest one: this stay's
    unit_names = {u.id: u.name or u.id for u in session.scalars(select(UnitRow))}
    unit_of = {b.id: b.unit for b in session.scalars(select(BedSpaceRow))}

    def due(resident: ResidentRow) -> DueStay:
        referral = referrals.get(resident.id)
        return DueStay(
            resident=resident.id,
            name=referral.name if referral else None,
            case_reference=referral.case_reference if referral else None,
            unit=unit_names.get(unit_of.get(resident.bedspace, ""), resident.bedspace),
            bedspace=resident.bedspace,
            placed_on=placed_on.get(resident.id),
            arrival_on=resident.arrived,
            expected_leave=resident.expected_leave,
        )

    arriving = [
        due(r) for r in open_stays if r.id in referrals and (r.arrived is None or r.arrived > as_of)
    ]
    arriving.sort(key=lambda s: (s.placed_on or as_of, s.resident))
    horizon = as_of + timedelta(days=LEAVING_WITHIN_DAYS)
    leaving = [
        due(r)
        for r in open_stays
        if r.expected_leave is not None
        and r.expected_leave <= horizon
        and r.arrived is not None
        and r.arrived <= as_of
    ]
    leaving.sort(key=lambda s: (s.expected_leave or as_of, s.resident))
    return StaysDue(as_of, arriving, leaving)
