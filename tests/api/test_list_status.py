"""The By Name List's status machine: each transition bites, a skipped event is refused, and
(hypothesis) every random sequence of events leaves each person in exactly one status, with
the stored history replaying to it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from api.orm import Base, ListHistoryRow, ListMemberRow
from api.security import Principal, Role
from api.services import by_name_list
from api.services.list_status import (
    JOINING,
    TRANSITIONS,
    Cohort,
    ListEvent,
    ListStatus,
    TransitionRefused,
    after,
    events_leading_to,
    replay,
)

S, E = ListStatus, ListEvent
COORDINATOR = Principal("coordinator", Role.coordinator)
START = date(2026, 1, 5)


@pytest.mark.parametrize(
    ("status", "event", "expected"),
    [
        (S.active, E.placed, S.in_placement),
        (S.inactive, E.placed, S.in_placement),
        (S.returned, E.placed, S.in_placement),
        (S.in_placement, E.moved_out_settled, S.housed),
        (S.in_placement, E.moved_out_unsettled, S.active),
        (S.in_placement, E.placement_undone, S.active),
        (S.active, E.no_contact, S.inactive),
        (S.returned, E.no_contact, S.inactive),
        (S.inactive, E.contact, S.active),
        (S.housed, E.new_referral, S.returned),
        (S.inactive, E.new_referral, S.active),
        (S.housed, E.contact, S.housed),
    ],
)
def test_each_event_moves_a_person_where_it_should(
    status: ListStatus, event: ListEvent, expected: ListStatus
) -> None:
    assert after(status, event) is expected


@pytest.mark.parametrize(
    ("status", "event"),
    [
        (S.in_placement, E.placed),
        (S.active, E.moved_out_settled),
        (S.housed, E.moved_out_unsettled),
        (S.in_placement, E.no_contact),
        (S.housed, E.no_contact),
        (S.inactive, E.no_contact),
        (S.in_placement, E.new_referral),
        (S.active, E.placement_undone),
        (S.active, E.joined),
    ],
)
def test_an_event_that_cannot_happen_from_a_status_is_refused(
    status: ListStatus, event: ListEvent
) -> None:
    with pytest.raises(TransitionRefused, match=status.value):
        after(status, event)


def test_housed_is_reached_only_by_a_move_out_to_a_settled_home() -> None:
    reaching = {(s, e) for (s, e), t in TRANSITIONS.items() if t is S.housed and s is not S.housed}
    assert reaching == {(S.in_placement, E.moved_out_settled)}
    assert events_leading_to(S.active, S.housed) == []
    assert events_leading_to(S.housed, S.returned) == [E.new_referral]


def test_a_history_must_start_with_joining() -> None:
    with pytest.raises(ValueError, match="joining"):
        replay([E.placed])
    assert replay([E.joined_in_placement, E.moved_out_settled]) is S.housed


PEOPLE = ["CASE-1", "CASE-2", "CASE-3"]
HAPPENINGS = st.sampled_from(
    [
        E.placed,
        E.moved_out_settled,
        E.moved_out_unsettled,
        E.placement_undone,
        E.new_referral,
        E.contact,
        "days_pass",
        "sweep",
        "leave",
        "rejoin",
    ]
)


def _fresh_session() -> Session:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    return Session(engine)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.sampled_from(PEOPLE), HAPPENINGS, st.integers(1, 60)), max_size=40)
)
def test_any_sequence_of_events_leaves_one_status_that_the_history_replays(
    steps: list[tuple[str, str, int]],
) -> None:
    session = _fresh_session()
    try:
        today = START
        for person in PEOPLE:
            by_name_list.add(session, COORDINATOR, today, person, Cohort.at_risk, name=person)
        for person, happening, days in steps:
            listed = session.scalar(
                select(ListMemberRow).where(
                    ListMemberRow.case_reference == person, ListMemberRow.left_on.is_(None)
                )
            )
            if happening == "days_pass":
                today += timedelta(days=days)
            elif happening == "sweep":
                by_name_list.mark_quiet_inactive(session, today)
            elif happening == "leave" and listed is not None:
                by_name_list.leave(session, COORDINATOR, today, listed.id, "moved away")
            elif happening == "rejoin" and listed is None:
                by_name_list.add(session, COORDINATOR, today, person, Cohort.priority, person)
            elif happening == E.contact and listed is not None:
                by_name_list.record_contact(session, COORDINATOR, today, listed.id)
            elif isinstance(happening, ListEvent):
                by_name_list.follow(session, COORDINATOR, person, happening, today)
                session.commit()

        for person in PEOPLE:
            current = session.scalars(
                select(ListMemberRow).where(
                    ListMemberRow.case_reference == person, ListMemberRow.left_on.is_(None)
                )
            ).all()
            assert len(current) <= 1, "a person is listed once at a time"
        for row in session.scalars(select(ListMemberRow)):
            assert ListStatus(row.status) in ListStatus  # exactly one, a known one
            history = session.scalars(
                select(ListHistoryRow)
                .where(ListHistoryRow.member_id == row.id)
                .order_by(ListHistoryRow.id)
            ).all()
            assert history[0].event in {e.value for e in JOINING}
            events = [ListEvent(h.event) for h in history if h.event != "left"]
            assert replay(events).value == row.status
            # Each step starts where the one before it ended.
            for before, step in zip(history, history[1:], strict=False):
                if step.event != "left":
                    assert step.from_status == before.to_status
            assert [h.on for h in history] == sorted(h.on for h in history)
            if row.left_on is not None:
                assert history[-1].event == "left" and history[-1].to_status is None
    finally:
        session.close()
        session.get_bind().dispose()  # type: ignore[union-attr]
