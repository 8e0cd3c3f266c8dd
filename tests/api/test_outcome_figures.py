"""The outcome figures equal a plain recount from the event log on random histories, and
each share's interval holds its share; the step-down pathway's target is applied."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from api.services.departure_reasons import DepartureReason, Destination
from api.services.outcomes import OutcomeStay, Presentation, outcome_figures
from capacity.length_of_stay import STAY_TARGETS, past_target
from capacity.statistics import share_interval
from matcher.model import Pathway

BASE = date(2026, 1, 1)
PEOPLE = [f"SPA-{n}" for n in range(6)]
UNITS = ["U1", "U2", "U3"]


@st.composite
def outcome_stays(draw: st.DrawFn) -> OutcomeStay:
    start = BASE + timedelta(days=draw(st.integers(-400, 400)))
    length = draw(st.integers(0, 400))
    return OutcomeStay(
        person=draw(st.sampled_from(PEOPLE)),
        resident=draw(st.sampled_from(["R1", "R2", "R3"])),
        unit=draw(st.sampled_from(UNITS)),
        pathway=draw(st.sampled_from(list(Pathway))),
        support_team=draw(st.sampled_from([None, "T1", "T2"])),
        start=None if draw(st.integers(0, 9)) == 0 else start,  # before the records began
        end=start + timedelta(days=length) if draw(st.integers(0, 7)) else None,  # 1 in 8 stays on
        reason=draw(st.sampled_from([None, *(r.value for r in DepartureReason)])),
        destination=draw(st.sampled_from([None, *(d.value for d in Destination)])),
        ended_by_move=draw(st.integers(0, 4)) == 0,
        cohorts=frozenset(draw(st.sets(st.sampled_from(["women", "young_people"])))),
    )


presentations = st.builds(
    Presentation,
    person=st.sampled_from(PEOPLE),
    on=st.integers(-400, 1200).map(lambda d: BASE + timedelta(days=d)),
)


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[OutcomeStay], list[Presentation]]:
    """Stays, and the days people were seen again: anywhere, or close to a stay's end and
    to each window's edge, where an off-by-one would hide."""
    stays = draw(st.lists(outcome_stays(), max_size=40))
    seen = draw(st.lists(presentations, max_size=20))
    ends = [s for s in stays if s.end is not None]
    if ends:
        for _ in range(draw(st.integers(0, 20))):
            stay = draw(st.sampled_from(ends))
            assert stay.end is not None
            offset = draw(st.sampled_from([-1, 0, 1, 182, 183, 184, 364, 365, 366]))
            seen.append(Presentation(stay.person, stay.end + timedelta(days=offset)))
    return stays, seen


GROUPINGS = {
    "unit": lambda s: [(s.unit, s.unit)],
    "pathway": lambda s: [(s.pathway.value, s.pathway.value)],
    "cohort": lambda s: [("all", "Everyone"), *((c, c) for c in sorted(s.cohorts))],
}


def _median(values: list[int]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def _came_back(stay: OutcomeStay, seen: list[Presentation], days: int) -> bool:
    assert stay.end is not None
    return any(
        p.person == stay.person and stay.end < p.on <= stay.end + timedelta(days=days) for p in seen
    )


@settings(max_examples=150, deadline=None)
@given(
    history=histories(),
    first=st.integers(-300, 300),
    span=st.integers(0, 500),
    judged_on=st.integers(0, 900),
)
def test_the_figures_equal_a_plain_recount_of_the_events(
    history: tuple[list[OutcomeStay], list[Presentation]], first: int, span: int, judged_on: int
) -> None:
    stays, seen = history
    start = BASE + timedelta(days=first)
    end = start + timedelta(days=span)
    as_of = start + timedelta(days=judged_on)
    figures = outcome_figures(stays, seen, start, end, as_of, GROUPINGS)
    for grouping, keys_of in GROUPINGS.items():
        expected: dict[str, list[OutcomeStay]] = {}
        for s in stays:
            if s.end is not None and start <= s.end <= end:
                for key, _ in keys_of(s):
                    expected.setdefault(key, []).append(s)
        got = {g.key: g for g in figures[grouping]}
        assert set(got) == set(expected)
        for key, mine in expected.items():
            g = got[key]
            left = [s for s in mine if not s.ended_by_move]
            assert g.stays_ended == len(mine)
            assert g.departures == len(left)
            assert g.transfers_out == len(mine) - len(left)
            for share, reason in (
                (g.planned_move_on, "planned_move_on"),
                (g.evictions, "eviction"),
                (g.abandonments, "abandonment"),
            ):
                assert (share.k, share.n) == (sum(s.reason == reason for s in left), len(left))
            for follow_up in g.sustained:
                window = {6: 183, 12: 365}[follow_up.months]
                moved_on = [s for s in left if s.reason == "planned_move_on"]
                old = [s for s in moved_on if s.end and (as_of - s.end).days >= window]
                kept = sum(not _came_back(s, seen, window) for s in old)
                assert (follow_up.judged.k, follow_up.judged.n) == (kept, len(old))
                assert follow_up.too_recent == len(moved_on) - len(old)
            for follow_up in g.returned:
                window = {6: 183, 12: 365}[follow_up.months]
                living = [s for s in left if s.reason != "death"]
                old = [s for s in living if s.end and (as_of - s.end).days >= window]
                back = sum(
                    s.destination == "rough_sleeping" or _came_back(s, seen, window) for s in old
                )
                assert (follow_up.judged.k, follow_up.judged.n) == (back, len(old))
                assert follow_up.too_recent == len(living) - len(old)
            lengths = [(s.end - s.start).days for s in mine if s.start and s.end]
            assert g.median_stay_days == _median(lengths)
            limited = [
                (s, (s.end - s.start).days)
                for s in mine
                if s.start and s.end and STAY_TARGETS[s.pathway].max_days is not None
            ]
            assert g.past_target.n == len(limited)
            assert g.past_target.k == sum(past_target(s.pathway, d) for s, d in limited)


@given(n=st.integers(1, 400), data=st.data())
def test_every_interval_holds_its_share_and_stays_within_zero_and_one(
    n: int, data: st.DataObject
) -> None:
    k = data.draw(st.integers(0, n))
    interval = share_interval(k, n)
    assert interval is not None
    low, high = interval
    assert 0.0 <= low <= k / n <= high <= 1.0
    assert high - low > 0  # a count never proves a share exactly
    assert share_interval(0, 0) is None


def test_small_counts_get_wide_intervals() -> None:
    """0 of 4 says little: the interval reaches past a half; 0 of 400 pins it near zero."""
    few, many = share_interval(0, 4), share_interval(0, 400)
    assert few is not None and many is not None
    assert few[1] > 0.45 and many[1] < 0.01


def test_the_step_down_pathway_has_its_own_shorter_target() -> None:
    """Step-down stays are short (Oxfordshire): 57 days is past its target, not recovery's,
    and not an emergency stay's either."""
    target = STAY_TARGETS[Pathway.step_down]
    assert target.max_days == 56 and target.average_days == 28
    assert past_target(Pathway.step_down, 57) and not past_target(Pathway.step_down, 56)
    assert not past_target(Pathway.recovery, 57) and not past_target(Pathway.emergency, 57)


def test_the_step_down_target_is_applied_to_the_stays_that_ended() -> None:
    """Two 60-day stays: the step-down one is past its pathway's longest stay, the recovery
    one is not; the step-down group carries its target."""
    left = BASE + timedelta(days=60)
    stays = [
        OutcomeStay("P1", "R1", "U1", Pathway.step_down, None, BASE, left, "planned_move_on"),
        OutcomeStay("P2", "R2", "U2", Pathway.recovery, None, BASE, left, "planned_move_on"),
    ]
    figures = outcome_figures(stays, [], BASE, left, left, GROUPINGS)
    by_pathway = {g.key: g for g in figures["pathway"]}
    step_down, recovery = by_pathway["step_down"], by_pathway["recovery"]
    assert (step_down.past_target.k, step_down.past_target.n) == (1, 1)
    assert (recovery.past_target.k, recovery.past_target.n) == (0, 1)
    assert (step_down.target_days, step_down.limit_days) == (28, 56)
