"""Finding people on the list: by name, case reference or id, status, priority, flag, pathway
and how long they have waited, most urgent first, a page at a time. Offered, placed, departed
and withdrawn people stay findable, and the answer says where a person is and since when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.orm import BedSpaceRow, OfferRow, PlacementRow, ReferralRow, ResidentRow, UnitRow
from matcher.model import Flag, Pathway, Referral

Status = Literal["waiting", "offered", "placed", "withdrawn"]


@dataclass(frozen=True)
class ReferralQuery:
    text: str = ""  # part of a name, case reference or id
    status: Status | None = "waiting"
    min_priority: int = 1
    flag: Flag | None = None
    pathway: Pathway | None = None
    waited_days: int = 0  # at least this long since referral
    limit: int = 100
    offset: int = 0
    by_id: bool = False  # in id order (the API's list) rather than most urgent first


@dataclass(frozen=True)
class Placement:
    unit: str  # by name
    bedspace: str
    placed_on: date
    arrived: date | None
    left_on: date | None


@dataclass(frozen=True)
class Held:
    """An open offer: the bed-space held for the person, where, since when, until when."""

    offer_id: int
    unit: str  # by name
    bedspace: str
    made_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Found:
    referral: Referral
    status: str
    waited_days: int
    placement: Placement | None
    offer: Held | None = None


def search(session: Session, query: ReferralQuery, as_of: date) -> tuple[list[Found], int]:
    """The page of people matching `query`, most urgent and longest waiting first, and how
    many match in all."""
    statement = select(ReferralRow).where(ReferralRow.priority >= query.min_priority)
    if query.status is not None:
        statement = statement.where(ReferralRow.status == query.status)
    if query.text:
        folded = query.text.lower()
        statement = statement.where(
            or_(
                ReferralRow.id.contains(query.text, autoescape=True),
                func.lower(ReferralRow.name).contains(folded, autoescape=True),
                func.lower(ReferralRow.case_reference).contains(folded, autoescape=True),
            )
        )
    if query.pathway is not None:
        statement = statement.where(ReferralRow.pathway == query.pathway.value)
    if query.waited_days:
        statement = statement.where(
            ReferralRow.referred <= as_of - timedelta(days=query.waited_days)
        )
    statement = statement.order_by(
        *(
            (ReferralRow.id,)
            if query.by_id
            else (ReferralRow.priority.desc(), ReferralRow.referred, ReferralRow.id)
        )
    )
    rows = list(session.scalars(statement))
    if query.flag is not None:  # flags are a JSON list: matched here, alike on every database
        rows = [r for r in rows if query.flag.value in r.flags]
    page = rows[query.offset : query.offset + query.limit]
    where = _placements(session, [r.id for r in page if r.status == "placed"])
    held = _offers(session, [r.id for r in page if r.status == "offered"])
    found = [
        Found(
            referral=Referral.model_validate(row, from_attributes=True),
            status=row.status,
            waited_days=(as_of - row.referred).days,
            placement=where.get(row.id),
            offer=held.get(row.id),
        )
        for row in page
    ]
    return found, len(rows)


def placement_of(session: Session, referral_id: str) -> Placement | None:
    return _placements(session, [referral_id]).get(referral_id)


def offer_of(session: Session, referral_id: str) -> Held | None:
    return _offers(session, [referral_id]).get(referral_id)


def _offers(session: Session, ids: list[str]) -> dict[str, Held]:
    """Each offered person's open offer: the unit by name, the bed-space, made and expiring."""
    if not ids:
        return {}
    rows = session.execute(
        select(OfferRow, UnitRow.id, UnitRow.name)
        .join(BedSpaceRow, BedSpaceRow.id == OfferRow.bedspace)
        .join(UnitRow, UnitRow.id == BedSpaceRow.unit)
        .where(OfferRow.referral.in_(ids), OfferRow.state == "open")
    )
    return {
        offer.referral: Held(
            offer.id, unit_name or unit_id, offer.bedspace, offer.made_at, offer.expires_at
        )
        for offer, unit_id, unit_name in rows
    }


def _placements(session: Session, ids: list[str]) -> dict[str, Placement]:
    """Each placed person's latest placement: the unit by name, the bed-space, since when."""
    if not ids:
        return {}
    rows = session.execute(
        select(
            PlacementRow.referral,
            PlacementRow.bedspace,
            PlacementRow.placed_on,
            UnitRow.id,
            UnitRow.name,
            ResidentRow.arrived,
            ResidentRow.left_on,
        )
        .join(BedSpaceRow, BedSpaceRow.id == PlacementRow.bedspace)
        .join(UnitRow, UnitRow.id == BedSpaceRow.unit)
        .outerjoin(ResidentRow, ResidentRow.id == PlacementRow.referral)
        .where(PlacementRow.referral.in_(ids))
        .order_by(PlacementRow.id)
    )
    latest: dict[str, Placement] = {}
    for referral, bedspace, placed_on, unit_id, unit_name, arrived, left_on in rows:
        latest[referral] = Placement(unit_name or unit_id, bedspace, placed_on, arrived, left_on)
    return latest
