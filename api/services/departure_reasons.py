"""Why a stay ended and where the person went: the codes a move-out records (LIFECYCLE.md,
Stay), and their words on the pages and in the returns."""

from __future__ import annotations

from enum import StrEnum

from api.orm import ResidentRow


class DepartureReason(StrEnum):
    planned_move_on = "planned_move_on"
    eviction = "eviction"
    abandonment = "abandonment"
    custody = "custody"
    hospital = "hospital"
    death = "death"
    other = "other"


class Destination(StrEnum):
    own_tenancy = "own_tenancy"
    social_housing = "social_housing"
    private_rented = "private_rented"
    family_friends = "family_friends"
    supported_service = "supported_service"
    rough_sleeping = "rough_sleeping"
    unknown = "unknown"


REASON_WORDS = {
    DepartureReason.planned_move_on: "planned move-on",
    DepartureReason.eviction: "eviction",
    DepartureReason.abandonment: "abandonment",
    DepartureReason.custody: "custody",
    DepartureReason.hospital: "hospital",
    DepartureReason.death: "death",
    DepartureReason.other: "other",
}
DESTINATION_WORDS = {
    Destination.own_tenancy: "own tenancy",
    Destination.social_housing: "social housing",
    Destination.private_rented: "private rented",
    Destination.family_friends: "family or friends",
    Destination.supported_service: "another supported service",
    Destination.rough_sleeping: "rough sleeping",
    Destination.unknown: "not known",
}


def note_departure(
    resident: ResidentRow,
    reason: DepartureReason | None,
    destination: Destination | None,
    note: str | None,
) -> None:
    """Keep why the stay ends and where the person goes (with the move-out)."""
    if reason is not None:
        resident.left_reason = reason.value
    if destination is not None:
        resident.destination = destination.value
    if note is not None and note.strip():
        resident.left_note = note.strip()


__all__ = [
    "DESTINATION_WORDS",
    "REASON_WORDS",
    "DepartureReason",
    "Destination",
    "note_departure",
]
