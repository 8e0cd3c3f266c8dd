"""A stateful property test of the offer lifecycle: random sequences of offer, accept,
decline, withdraw, expire (the clock moving on), move-out, transfer to another bed-space
(free, or held by an offer: refused) and undo of a placement, on a fresh copy of a small
seeded database per sequence, through the service functions the API calls, with the cache.

After every step: no bed-space is held by two open offers, nor held and occupied, nor holds
two people; a person is offered exactly while they have one open offer; a bed-space a person
declined is neither offered nor proposed to them again unless asked; every step that
changed something is in the audit trail, and nothing else is; the people placed and held
break no hard rule the seed did not already break; the cached problem is the stored state.
"""

from __future__ import annotations

import itertools
import shutil
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import prepare_database
from api.db import data_version, make_engine
from api.orm import AuditEventRow, OfferRow, PlacementRow, ReferralRow, ResidentRow
from api.security import Principal, Role
from api.services import offers, placements, stays
from api.services.assemble import ProblemCache, build_problem
from api.services.errors import Conflict
from capacity.vacancies import bedspace_free_from
from constraints.checker import resident_violations
from matcher.errors import PlacementRefused, ProblemInvalid
from matcher.ranking import build_context, rank
from tests.api.conftest import settings_for

SMALL = {"demo_seed": 5, "demo_referrals": 20, "demo_beds": 30}
USER = Principal("coordinator", Role.coordinator)
ACTIONS = (
    "offer",
    "accept",
    "decline",
    "withdraw",
    "expire",
    "move_out",
    "transfer",
    "undo",
    "refused",
)
STEPS: Counter[str] = Counter()
STEP_ACTIONS = {
    "offer",
    "offer_accept",
    "offer_decline",
    "offer_withdraw",
    "offer_expire",
    "transfer",
    "undo_placement",
}
REFUSED = (Conflict, PlacementRefused, ProblemInvalid)


class OfferMachine(RuleBasedStateMachine):
    template: ClassVar[Path]
    workdir: ClassVar[Path]
    numbers = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        path = self.workdir / f"offers-{next(self.numbers)}.db"
        shutil.copy(self.template, path)
        self.settings = settings_for(f"sqlite:///{path}", **SMALL)
        self.engine = make_engine(self.settings.database_url)
        self.factory = sessionmaker(self.engine, expire_on_commit=False)
        self.cache = ProblemCache()
        self.as_of = self.settings.placement_date()
        self.now = datetime(self.as_of.year, self.as_of.month, self.as_of.day, 9)
        self.audited: Counter[str] = Counter()
        self.asked_again: set[tuple[str, str]] = set()
        with self.session() as session:
            problem = build_problem(session, self.as_of)
            self.initial_violations = {(v.rule, v.message) for v in resident_violations(problem)}
        STEPS["sequences"] += 1

    def teardown(self) -> None:
        self.engine.dispose()

    def session(self) -> Session:
        return self.factory()

    def open_offers(self, session: Session) -> list[OfferRow]:
        return list(
            session.scalars(select(OfferRow).where(OfferRow.state == "open").order_by(OfferRow.id))
        )

    def declined(self, session: Session) -> set[tuple[str, str]]:
        rows = session.execute(
            select(OfferRow.referral, OfferRow.bedspace).where(OfferRow.state == "declined")
        )
        return {(r, b) for r, b in rows}

    def proposals(self, session: Session, referral: str) -> list[str]:
        """The bed-spaces proposed to a waiting person, as their page lists them."""
        context = self.cache.derived(session, self.as_of, "ranking", build_context)
        ranking = rank(context, referral, top=50)
        declined = offers.declined_bedspaces(session, referral)
        return [p.bedspace for p in offers.without_declined(ranking, declined.keys()).ranked]

    def has_open_offer(self) -> bool:
        with self.session() as session:
            return bool(self.open_offers(session))

    def has_resident_from_a_referral(self) -> bool:
        with self.session() as session:
            found = session.scalar(
                select(ResidentRow.id)
                .join(ReferralRow, ReferralRow.id == ResidentRow.id)
                .where(ResidentRow.left_on.is_(None))
                .limit(1)
            )
        return found is not None

    def has_placement(self) -> bool:
        with self.session() as session:
            found = session.scalar(
                select(PlacementRow.id).where(PlacementRow.undone_at.is_(None)).limit(1)
            )
        return found is not None

    # --- steps -------------------------------------------------------------------------

    @initialize(pick=st.integers(0, 10_000), choice=st.integers(0, 3))
    def a_placement_and_an_open_offer(self, pick: int, choice: int) -> None:
        """A sequence starts with a placement and an open offer, so the steps that act on
        one (and are drawn only when there is one) have something to act on from the start."""
        self.offer_then_accept(pick, choice)
        self.offer(pick + 1, choice)

    @rule(pick=st.integers(0, 10_000), choice=st.integers(0, 3))
    def offer(self, pick: int, choice: int) -> None:
        with self.session() as session:
            waiting = list(
                session.scalars(
                    select(ReferralRow.id)
                    .where(ReferralRow.status == "waiting")
                    .order_by(ReferralRow.id)
                )
            )
            if not waiting:
                return
            referral = waiting[pick % len(waiting)]
            proposed = self.proposals(session, referral)
            if not proposed:
                return
            bedspace = proposed[min(choice, len(proposed) - 1)]
            try:
                offers.make_offer(
                    session, USER, self.as_of, referral, bedspace, now=self.now,
                    reason=None if choice == 0 else "nearer their support network",
                    cache=self.cache,
                )  # fmt: skip
            except REFUSED:
                STEPS["refused"] += 1
                return
        self.audited["offer"] += 1
        STEPS["offer"] += 1

    @rule(pick=st.integers(0, 10_000), again=st.booleans())
    def offer_a_declined_or_held_bedspace(self, pick: int, again: bool) -> None:
        """Refused unless asked again: a declined bed-space to the same person, or one held."""
        with self.session() as session:
            declined = sorted(self.declined(session))
            held = [(o.referral, o.bedspace) for o in self.open_offers(session)]
            waiting = set(
                session.scalars(select(ReferralRow.id).where(ReferralRow.status == "waiting"))
            )
            candidates = [(r, b, "declined") for r, b in declined if r in waiting] + [
                (r, b, "held") for r, b in held
            ]
            if not candidates:
                return
            referral, bedspace, why = candidates[pick % len(candidates)]
            taken = {b for _, b in held} | set(
                session.scalars(select(ResidentRow.bedspace).where(ResidentRow.left_on.is_(None)))
            )
            if why == "held":
                others = sorted(waiting)
                if not others:
                    return
                referral = others[pick % len(others)]
            try:
                offers.make_offer(
                    session, USER, self.as_of, referral, bedspace, now=self.now,
                    reason="asked by the person", ask_again=again, cache=self.cache,
                )  # fmt: skip
            except REFUSED as refused:
                if why == "held":
                    assert "held by offer" in str(refused) or isinstance(refused, PlacementRefused)
                elif not again and bedspace not in taken:
                    # A declined bed-space since held or occupied is refused for that first.
                    assert "declined" in str(refused)
                STEPS["refused"] += 1
                return
        assert why == "declined" and again, "a held or declined bed-space was offered"
        self.asked_again.add((referral, bedspace))
        self.audited["offer"] += 1
        STEPS["offer"] += 1

    def _an_open_offer(self, pick: int) -> OfferRow | None:
        with self.session() as session:
            open_now = self.open_offers(session)
        return open_now[pick % len(open_now)] if open_now else None

    @precondition(lambda machine: machine.has_open_offer())
    @rule(pick=st.integers(0, 10_000), days=st.integers(0, 3))
    def accept(self, pick: int, days: int) -> None:
        offer = self._an_open_offer(pick)
        if offer is not None:
            self.accept_offer(offer, days)

    def accept_offer(self, offer: OfferRow, days: int) -> None:
        with self.session() as session:
            try:
                # The person arrives on or after the day they are offered the place.
                arrival = max(self.as_of, self.now.date()) + timedelta(days=days)
                offers.accept(
                    session, USER, self.as_of, offer.id, arrival,
                    now=self.now, cache=self.cache,
                )  # fmt: skip
            except REFUSED:
                STEPS["refused"] += 1
                return
        self.audited["offer_accept"] += 1
        STEPS["accept"] += 1

    @precondition(lambda machine: machine.has_open_offer())
    @rule(pick=st.integers(0, 10_000), code=st.sampled_from(list(offers.DeclineReason)))
    def decline(self, pick: int, code: offers.DeclineReason) -> None:
        offer = self._an_open_offer(pick)
        if offer is None:
            return
        with self.session() as session:
            offers.decline(
                session, USER, self.as_of, offer.id, code, "not for them", now=self.now,
                cache=self.cache,
            )  # fmt: skip
        self.audited["offer_decline"] += 1
        STEPS["decline"] += 1

    @precondition(lambda machine: machine.has_open_offer())
    @rule(pick=st.integers(0, 10_000))
    def withdraw(self, pick: int) -> None:
        offer = self._an_open_offer(pick)
        if offer is None:
            return
        with self.session() as session:
            offers.withdraw(
                session, USER, self.as_of, offer.id, "a safer place came up", now=self.now,
                cache=self.cache,
            )  # fmt: skip
        self.audited["offer_withdraw"] += 1
        STEPS["withdraw"] += 1

    @rule(hours=st.sampled_from([1, 24, 80]))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)
        with self.session() as session:
            expired = offers.expire_due(session, self.now, self.as_of, self.cache)
        self.audited["offer_expire"] += len(expired)
        STEPS["expire"] += len(expired)

    @precondition(lambda machine: machine.has_open_offer())
    @rule(pick=st.integers(0, 10_000))
    def an_offer_runs_out(self, pick: int) -> None:
        """The clock moves past one open offer's time, so expiry is exercised whatever the
        random hours of `time_passes` happen to be; every offer due by then closes with it."""
        offer = self._an_open_offer(pick)
        assert offer is not None
        self.now = max(self.now, offer.expires_at + timedelta(minutes=1))
        self.time_passes(0)
        with self.session() as session:
            state = session.get(OfferRow, offer.id)
            assert state is not None and state.state == "expired", state

    @rule(pick=st.integers(0, 10_000))
    def move_out(self, pick: int) -> None:
        with self.session() as session:
            present = list(
                session.scalars(
                    select(ResidentRow)
                    .where(ResidentRow.left_on.is_(None))
                    .order_by(ResidentRow.id)
                )
            )
            if not present:
                return
            resident = present[pick % len(present)]
            on = max(self.as_of, resident.arrived or self.as_of)
            placements.move_out(session, USER, self.as_of, resident.id, on, self.cache)
        STEPS["move_out"] += 1

    @rule(pick=st.integers(0, 10_000), choice=st.integers(0, 3))
    def offer_then_accept(self, pick: int, choice: int) -> None:
        """An offer accepted at once: the placements that transfers and undos act on."""
        before = self.audited["offer"]
        self.offer(pick, choice)
        if self.audited["offer"] == before:
            return
        with self.session() as session:
            newest = self.open_offers(session)[-1:]
        if newest:
            self.accept_offer(newest[0], 0)

    @precondition(lambda machine: machine.has_resident_from_a_referral())
    @rule(pick=st.integers(0, 10_000), into_held=st.booleans())
    def transfer(self, pick: int, into_held: bool) -> None:
        """A resident placed from a referral moves to a free bed-space (checked as a
        placement), or is refused a bed-space an open offer holds."""
        with self.session() as session:
            movers = list(
                session.scalars(
                    select(ResidentRow)
                    .join(ReferralRow, ReferralRow.id == ResidentRow.id)
                    .where(ResidentRow.left_on.is_(None))
                    .order_by(ResidentRow.id)
                )
            )
            if not movers:
                return
            resident = movers[pick % len(movers)]
            held = [o.bedspace for o in self.open_offers(session)]
            problem = build_problem(session, self.as_of)
            free = sorted(
                bed
                for bed, day in bedspace_free_from(problem).items()
                if day is not None and day <= self.as_of and bed not in held
            )
            # A free bed-space of the same unit passes the rules the person's place passed,
            # so most moves are made rather than refused.
            unit_of = {b.id: b.unit for b in problem.bedspaces}
            nearby = [b for b in free if unit_of[b] == unit_of[resident.bedspace]]
            targets = held if into_held else nearby or free
            if not targets:
                return
            bedspace = targets[pick % len(targets)]
            try:
                stays.transfer(
                    session, USER, self.as_of, resident.id, bedspace, "a step down to recovery",
                    cache=self.cache,
                )  # fmt: skip
            except REFUSED:
                STEPS["refused"] += 1
                return
        assert not into_held, f"a transfer into {bedspace}, held by an open offer"
        self.audited["transfer"] += 1
        STEPS["transfer"] += 1

    @precondition(lambda machine: machine.has_placement())
    @rule(pick=st.integers(0, 10_000))
    def undo(self, pick: int) -> None:
        """A placement made in error is undone within a day (the person waits again); a
        transfer, or a placement older than a day, is refused."""
        with self.session() as session:
            # The newest: this sequence's own, and a few of the demo's history (long past
            # their day), so both an undo and its refusal can happen.
            made = list(
                session.scalars(
                    select(PlacementRow)
                    .where(PlacementRow.undone_at.is_(None))
                    .order_by(PlacementRow.id.desc())
                    .limit(20)
                )
            )
            if not made:
                return
            placement = made[pick % len(made)]
            try:
                stays.undo_placement(session, USER, placement.id, "placed in error", self.now)
            except REFUSED:
                STEPS["refused"] += 1
                return
        assert placement.transfer_from is None, "a transfer undone (not checked as a move)"
        assert self.now - placement.placed_at <= stays.UNDO_WITHIN
        with self.session() as session:
            referral = session.get(ReferralRow, placement.referral)
            assert referral is not None and referral.status == "waiting"
            assert session.get(ResidentRow, placement.referral) is None
        self.audited["undo_placement"] += 1
        STEPS["undo"] += 1

    # --- what must always hold ---------------------------------------------------------

    @invariant()
    def one_holder_per_bedspace_and_per_person(self) -> None:
        with self.session() as session:
            open_now = self.open_offers(session)
            beds = [o.bedspace for o in open_now]
            assert len(beds) == len(set(beds)), "a bed-space held by two offers"
            occupied = list(
                session.scalars(select(ResidentRow.bedspace).where(ResidentRow.left_on.is_(None)))
            )
            assert len(occupied) == len(set(occupied)), "a bed-space holding two people"
            assert not set(beds) & set(occupied), "a bed-space both held and occupied"
            offered = set(
                session.scalars(select(ReferralRow.id).where(ReferralRow.status == "offered"))
            )
            assert offered == {o.referral for o in open_now}

    @invariant()
    def declined_bedspaces_are_not_offered_or_proposed_again(self) -> None:
        with self.session() as session:
            rows = list(session.scalars(select(OfferRow).order_by(OfferRow.id)))
            declined_at: dict[tuple[str, str], int] = {}
            for row in rows:
                pair = (row.referral, row.bedspace)
                if pair in declined_at and row.id > declined_at[pair]:
                    assert pair in self.asked_again, f"{pair} offered again after a decline"
                if row.state == "declined":
                    declined_at.setdefault(pair, row.id)
            waiting = list(
                session.scalars(select(ReferralRow.id).where(ReferralRow.status == "waiting"))
            )
            for referral in waiting:
                declined = {b for r, b in declined_at if r == referral}
                if declined:
                    assert not declined & set(self.proposals(session, referral))

    @invariant()
    def every_step_is_audited(self) -> None:
        with self.session() as session:
            logged = Counter(
                session.scalars(
                    select(AuditEventRow.action).where(AuditEventRow.action.in_(STEP_ACTIONS))
                )
            )
        assert logged == self.audited

    @invariant()
    def no_hard_rule_broken_and_the_cache_is_the_stored_state(self) -> None:
        with self.session() as session:
            problem = build_problem(session, self.as_of)
            cached = self.cache.problem_at(data_version(session), self.as_of)
        broken = {(v.rule, v.message) for v in resident_violations(problem)}
        assert broken <= self.initial_violations, broken - self.initial_violations
        if cached is not None:
            assert cached == problem
            assert cached.held == problem.held  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("offers") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(settings_for(f"sqlite:///{path}", **SMALL), engine)
    engine.dispose()
    return path


def test_random_offer_sequences_keep_every_rule(small_template: Path, tmp_path: Path) -> None:
    OfferMachine.template = small_template
    OfferMachine.workdir = tmp_path
    STEPS.clear()
    bounded = settings(
        max_examples=24,
        stateful_step_count=25,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    run_state_machine_as_test(OfferMachine, settings=bounded)
    print(f"offer machine: {dict(STEPS)}")
    # Every sequence starts with a placement and an open offer, so these always happen;
    # that every kind of step works at all is the scripted test below, not luck.
    assert min(STEPS[name] for name in ("offer", "accept", "move_out")) > 0, STEPS


def _the_invariants_hold(machine: OfferMachine) -> None:
    machine.one_holder_per_bedspace_and_per_person()
    machine.declined_bedspaces_are_not_offered_or_proposed_again()
    machine.every_step_is_audited()
    machine.no_hard_rule_broken_and_the_cache_is_the_stored_state()


def _until_it_happens(machine: OfferMachine, kind: str, step: Callable[[int], None]) -> None:
    """Take a step with successive picks until one is made rather than refused."""
    before = STEPS[kind]
    for pick in range(30):
        step(pick)
        _the_invariants_hold(machine)
        if STEPS[kind] > before:
            return
    raise AssertionError(f"no {kind} made in 30 tries: {dict(STEPS)}")


def test_every_kind_of_step_is_made_and_keeps_every_rule(
    small_template: Path, tmp_path: Path
) -> None:
    """The same steps as the random sequences, each made at least once in a fixed order,
    with every invariant checked after each: the random test cannot pass by never
    reaching a step."""
    OfferMachine.template = small_template
    OfferMachine.workdir = tmp_path
    STEPS.clear()
    machine = OfferMachine()
    try:
        machine.a_placement_and_an_open_offer(0, 0)
        _the_invariants_hold(machine)
        reason = next(iter(offers.DeclineReason))
        _until_it_happens(machine, "decline", lambda p: machine.decline(p, reason))
        _until_it_happens(machine, "offer", lambda p: machine.offer(p, 0))
        _until_it_happens(machine, "withdraw", machine.withdraw)
        _until_it_happens(machine, "offer", lambda p: machine.offer(p, 1))
        _until_it_happens(machine, "expire", machine.an_offer_runs_out)
        _until_it_happens(machine, "accept", lambda p: machine.offer_then_accept(p, 0))
        _until_it_happens(machine, "undo", lambda p: machine.undo(0))
        _until_it_happens(machine, "transfer", lambda p: machine.transfer(p, False))
        _until_it_happens(
            machine, "refused", lambda p: machine.offer_a_declined_or_held_bedspace(p, again=False)
        )
        _until_it_happens(machine, "move_out", machine.move_out)
    finally:
        machine.teardown()
    assert all(STEPS[name] > 0 for name in ACTIONS), STEPS
