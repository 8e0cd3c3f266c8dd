"""The By Name List's statuses and the events that move them (LIFECYCLE.md, List).

Pure: no database. A person on the list is in exactly one status; only an event moves them,
and an event that cannot happen from the current status is refused with the reason, so a
status is never set by hand. The history of events replays to the current status (`replay`).

    active <-> in_placement -> housed -> (new referral) returned
    active --no contact for N days--> inactive --contact--> active
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Cohort(StrEnum):
    # Barnsley's By Name List (002_dcd69be417dc9cc0.txt): ~40 priority, ~110 at risk or
    # repeat flyers; a watchlist for people a coordinator is keeping an eye on.
    priority = "priority"
    at_risk = "at_risk"
    watchlist = "watchlist"


class ListStatus(StrEnum):
    active = "active"
    in_placement = "in_placement"
    housed = "housed"
    inactive = "inactive"
    returned = "returned"


class ListEvent(StrEnum):
    joined = "joined"
    joined_in_placement = "joined_in_placement"
    placed = "placed"
    placement_undone = "placement_undone"
    moved_out_settled = "moved_out_settled"  # to an own or settled tenancy
    moved_out_unsettled = "moved_out_unsettled"  # anywhere else
    no_contact = "no_contact"
    contact = "contact"
    new_referral = "new_referral"


COHORT_WORDS = {
    Cohort.priority: "priority",
    Cohort.at_risk: "at risk / repeat",
    Cohort.watchlist: "watchlist",
}
STATUS_WORDS = {
    ListStatus.active: "active",
    ListStatus.in_placement: "in placement",
    ListStatus.housed: "housed",
    ListStatus.inactive: "inactive",
    ListStatus.returned: "returned",
}
EVENT_WORDS = {
    ListEvent.joined: "joined the list",
    ListEvent.joined_in_placement: "joined the list while in a placement",
    ListEvent.placed: "placed in a bed-space",
    ListEvent.placement_undone: "placement undone",
    ListEvent.moved_out_settled: "moved out to a settled home",
    ListEvent.moved_out_unsettled: "moved out, not to a settled home",
    ListEvent.no_contact: "no contact for too long",
    ListEvent.contact: "contact recorded",
    ListEvent.new_referral: "referred again",
}

JOINING = {
    ListEvent.joined: ListStatus.active,
    ListEvent.joined_in_placement: ListStatus.in_placement,
}

S = ListStatus

# (status, event) -> the status after. An event absent for a status cannot happen there.
TRANSITIONS: dict[tuple[ListStatus, ListEvent], ListStatus] = {
    (S.active, ListEvent.placed): S.in_placement,
    (S.inactive, ListEvent.placed): S.in_placement,
    (S.returned, ListEvent.placed): S.in_placement,
    (S.in_placement, ListEvent.placement_undone): S.active,
    (S.in_placement, ListEvent.moved_out_settled): S.housed,
    (S.in_placement, ListEvent.moved_out_unsettled): S.active,
    (S.active, ListEvent.no_contact): S.inactive,
    (S.returned, ListEvent.no_contact): S.inactive,
    # Contact keeps an engaged person where they are and brings an inactive one back.
    (S.active, ListEvent.contact): S.active,
    (S.in_placement, ListEvent.contact): S.in_placement,
    (S.housed, ListEvent.contact): S.housed,
    (S.returned, ListEvent.contact): S.returned,
    (S.inactive, ListEvent.contact): S.active,
    # A referral after being housed is a return to homelessness; after going quiet it is
    # contact again; otherwise it changes nothing on the list.
    (S.housed, ListEvent.new_referral): S.returned,
    (S.inactive, ListEvent.new_referral): S.active,
    (S.active, ListEvent.new_referral): S.active,
    (S.returned, ListEvent.new_referral): S.returned,
}

# Why an event cannot happen from a status, in a coordinator's words.
_NEEDS = {
    ListEvent.placed: "is already in a placement",
    ListEvent.placement_undone: "has no placement to undo",
    ListEvent.moved_out_settled: "is not in a placement to move out of",
    ListEvent.moved_out_unsettled: "is not in a placement to move out of",
    ListEvent.no_contact: "is only marked inactive from active or returned",
    ListEvent.new_referral: "is in a placement: a new referral does not change that",
}


class TransitionRefused(Exception):
    """An event that cannot happen from the current status; the message says why."""

    def __init__(self, status: ListStatus, event: ListEvent, why: str) -> None:
        self.status, self.event = status, event
        super().__init__(why)


def after(status: ListStatus, event: ListEvent) -> ListStatus:
    """The status `event` moves a person in `status` to; `TransitionRefused` if it cannot
    happen there."""
    if event in JOINING:
        raise TransitionRefused(status, event, f"a person who is {status.value} is already listed")
    found = TRANSITIONS.get((status, event))
    if found is None:
        why = _NEEDS.get(event, "cannot happen from this status")
        raise TransitionRefused(
            status, event, f"{event.value} refused: a person who is {status.value} {why}"
        )
    return found


def events_leading_to(status: ListStatus, target: ListStatus) -> list[ListEvent]:
    """The events that move a person from `status` to `target` (none: it cannot happen)."""
    return sorted(e for (s, e), t in TRANSITIONS.items() if s is status and t is target)


def replay(events: Iterable[ListEvent]) -> ListStatus:
    """The status a history of events leaves a person in: it starts with joining."""
    steps = iter(events)
    first = next(steps, None)
    if first not in JOINING:
        raise ValueError("a list history starts with the person joining")
    status = JOINING[first]
    for event in steps:
        status = after(status, event)
    return status
