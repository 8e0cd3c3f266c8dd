"""What a person's page says about offers: the open one (where, since when, until when, and
the forms to accept, decline or withdraw it), and every offer made to them, with its outcome."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.orm import BedSpaceRow, OfferRow, ReferralRow, UnitRow
from api.services.offers import DeclineReason, offer_days

# The reason codes as a coordinator reads them.
DECLINE_WORDS = {
    DeclineReason.person_refused: "the person refused",
    DeclineReason.provider_refused: "the provider refused",
    DeclineReason.unsafe_on_review: "unsafe on review",
    DeclineReason.not_contactable: "the person could not be contacted",
    DeclineReason.other: "other (say why)",
}


@dataclass(frozen=True)
class OfferLine:
    id: int
    unit: str  # by name
    bedspace: str
    state: str
    made_at: datetime
    made_by: str
    expires_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    outcome: str  # in words: the reason code and note, the arrival date, the withdrawal's why
    run_id: int | None


def history(session: Session, referral_id: str) -> list[OfferLine]:
    """Every offer made to the person, newest first."""
    rows = session.execute(
        select(OfferRow, UnitRow.id, UnitRow.name)
        .join(BedSpaceRow, BedSpaceRow.id == OfferRow.bedspace)
        .join(UnitRow, UnitRow.id == BedSpaceRow.unit)
        .where(OfferRow.referral == referral_id)
        .order_by(OfferRow.id.desc())
    )
    return [
        OfferLine(
            id=o.id,
            unit=name or unit,
            bedspace=o.bedspace,
            state=o.state,
            made_at=o.made_at,
            made_by=o.made_by,
            expires_at=o.expires_at,
            closed_at=o.closed_at,
            closed_by=o.closed_by,
            outcome=_outcome(o),
            run_id=o.run_id,
        )
        for o, unit, name in rows
    ]


def _outcome(offer: OfferRow) -> str:
    if offer.state == "accepted" and offer.arrival_on is not None:
        return f"accepted, arriving {offer.arrival_on:%d %B %Y}"
    if offer.state == "declined":
        words = DECLINE_WORDS.get(DeclineReason(offer.reason_code or "other"), "")
        return f"declined: {words}" + (f" ({offer.closing_note})" if offer.closing_note else "")
    if offer.state == "withdrawn":
        return f"withdrawn: {offer.closing_note or ''}"
    if offer.state == "expired":
        return "expired with no answer"
    return "waiting for an answer"


def step_message(query: Mapping[str, str]) -> str | None:
    """What the page says after an offer step redirected to it."""
    if query.get("offered"):
        return (
            f"Offered bed-space {query['offered']}: it is held for this person until they answer."
        )
    for key, words in (
        ("accepted", "Offer accepted: the stay begins on the arrival date."),
        ("declined", "Offer declined: the person is waiting again."),
        ("withdrawn", "Offer withdrawn: the person is waiting again."),
    ):
        if query.get(key):
            return words
    return None


def page_context(session: Session, referral: ReferralRow, as_of: date) -> dict[str, Any]:
    """The person page's offer section."""
    lines = history(session, referral.id)
    return {
        "open_offer": next((line for line in lines if line.state == "open"), None),
        "offer_history": lines,
        "decline_reasons": [(code.value, words) for code, words in DECLINE_WORDS.items()],
        "offer_days": offer_days(session),
        "arrival_default": as_of.isoformat(),
    }
