"""The By Name List as a coordinator reads it: each person with where they are now (the
unit's name), their support team, days since last contact, and whether any bed-space in the
portfolio is safe for them (`api.services.no_safe_option`); counts per cohort and status.

Names and case references are personal data: callers show rows only to roles that may see
people, and record the read; other roles get the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.orm import BedSpaceRow, ResidentRow, UnitRow
from api.services import by_name_list
from api.services.by_name_list import Counts
from api.services.list_status import Cohort, ListStatus
from api.services.no_safe_option import SafeOptions, safe_options
from matcher.model import Problem, Referral


@dataclass(frozen=True)
class ListEntry:
    id: int
    case_reference: str
    name: str
    cohort: str
    status: str
    joined_on: date
    days_since_contact: int
    place: str | None  # the unit's name, when in a bed-space now
    resident: str | None  # the stay's id, for its page
    support_team: str | None
    referral: str | None  # their latest referral
    options: SafeOptions | None  # None: no referral, so no needs to check

    @property
    def no_safe_option(self) -> bool:
        return self.options is not None and self.options.none


@dataclass(frozen=True)
class ListView:
    as_of: date
    inactive_days: int
    counts: Counts
    entries: list[ListEntry]

    @property
    def no_safe_option(self) -> int:
        return sum(e.no_safe_option for e in self.entries)

    @property
    def people(self) -> list[str]:
        return [e.case_reference for e in self.entries]


def list_view(
    session: Session,
    problem: Problem,
    as_of: date,
    cohort: Cohort | None = None,
    status: ListStatus | None = None,
) -> ListView:
    """The list on `as_of` (counts over everyone listed; entries filtered by cohort and
    status), each person's safety checked against the portfolio of `problem`."""
    everyone = by_name_list.listed(session)
    shown = [
        m
        for m in everyone
        if (cohort is None or m.cohort == cohort.value)
        and (status is None or m.status == status.value)
    ]
    referrals = by_name_list.referrals_of(session, [m.case_reference for m in shown])
    latest = {ref: rows[-1] for ref, rows in referrals.items()}
    ids = [r.id for rows in referrals.values() for r in rows]
    present: dict[str, ResidentRow] = {}
    for start in range(0, len(ids), 500):
        for row in session.scalars(
            select(ResidentRow).where(
                ResidentRow.id.in_(ids[start : start + 500]), ResidentRow.left_on.is_(None)
            )
        ):
            present[row.id] = row
    unit_names = dict(session.execute(select(UnitRow.id, UnitRow.name)).all())
    unit_of_bed = dict(
        session.execute(
            select(BedSpaceRow.id, BedSpaceRow.unit).where(
                BedSpaceRow.id.in_([s.bedspace for s in present.values()])
            )
        ).all()
    )
    people = [Referral.model_validate(r, from_attributes=True) for r in latest.values()]
    options = safe_options(problem, people)
    entries = []
    for m in shown:
        rows = referrals.get(m.case_reference, [])
        stay = next((present[r.id] for r in reversed(rows) if r.id in present), None)
        last = rows[-1] if rows else None
        unit = unit_of_bed.get(stay.bedspace) if stay is not None else None
        entries.append(
            ListEntry(
                id=m.id,
                case_reference=m.case_reference,
                name=m.name or m.case_reference,
                cohort=m.cohort,
                status=m.status,
                joined_on=m.joined_on,
                days_since_contact=(as_of - m.last_contact_on).days,
                place=(unit_names.get(unit) or unit) if unit is not None else None,
                resident=stay.id if stay is not None else None,
                support_team=stay.support_team if stay is not None else None,
                referral=last.id if last is not None else None,
                options=options.get(last.id) if last is not None else None,
            )
        )
    # Within a cohort, those the panel must hear about first.
    order = [c.value for c in Cohort]
    entries.sort(key=lambda e: (order.index(e.cohort), not e.no_safe_option))
    counted = by_name_list.counts(everyone)
    return ListView(as_of, by_name_list.inactive_days(session), counted, entries)
