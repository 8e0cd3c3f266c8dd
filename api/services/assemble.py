"""The database, as the one `Problem` document every domain function reads.

Present residents (no `left_on`) and waiting referrals go in; names of people who have left
are dropped from `keep_apart`/`keep_together`, since a rule about someone no longer here has
nothing to bite on. The problem is cached per data version (see `api.db`), so ranking does
not rebuild 10,000 bed-spaces on every request.

An expected leaving date is a plan, not a departure (LIFECYCLE.md): a resident past it with
no move-out recorded is still here, and their bed-space is "due to leave", not free. The
problem document's own rule (DESIGN.md, `Problem.resident_is_present`) would count them as
gone on `as_of`, so in the service's problem such a resident has no expected leaving date,
and the passed date is kept beside it (`ServiceProblem.due_to_leave`) for the board.

An open offer holds its bed-space the same way (LIFECYCLE.md: "held", not free): the person
offered it is in the problem as if already in the bed-space, so nobody else is ranked or
proposed into it, and the rules that count a unit's people (gender of a cluster, high-risk
room, support hours, a team's caseload) count them too. The held bed-spaces are kept beside
(`ServiceProblem.held`: bed-space -> offer id) for the board and the offers.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db import data_version
from api.heap import settle_long_lived
from api.orm import (
    AreaRow,
    BedSpaceRow,
    LinkRow,
    OfferRow,
    ReferralRow,
    ResidentRow,
    SupportPlacementRow,
    SupportTeamRow,
    UnitRow,
)
from matcher.model import (
    Area,
    BedSpace,
    CommunitySupport,
    Link,
    Problem,
    Referral,
    Resident,
    SupportTeam,
    Unit,
)

M = TypeVar("M", bound=BaseModel)


def _all(session: Session, row: Any, model: type[M], *where: Any) -> list[M]:
    rows = session.scalars(select(row).where(*where).order_by(row.id)).all()
    return [model.model_validate(r, from_attributes=True) for r in rows]


def _present_only(referrals: list[Referral], residents: set[str]) -> list[Referral]:
    """The waiting referrals, their `keep_apart` naming only people present (residents or
    waiting) and their `keep_together` only people waiting."""
    waiting = {r.id for r in referrals}
    people = residents | waiting

    def present(r: Referral) -> Referral:
        if not r.keep_apart and not r.keep_together:
            return r
        keep_apart = [p for p in r.keep_apart if p in people]
        keep_together = [p for p in r.keep_together if p in waiting]
        if len(keep_apart) == len(r.keep_apart) and len(keep_together) == len(r.keep_together):
            return r  # most name nobody, or only people still here: shared, not copied
        return r.model_copy(update={"keep_apart": keep_apart, "keep_together": keep_together})

    return [present(r) for r in referrals]


class ServiceProblem(Problem):
    """The problem the service builds: a `Problem` whose residents past their expected
    leaving date (no move-out recorded) stay, with those passed dates by bed-space."""

    # Not part of the problem document: never written out, never read from one.
    due_to_leave: dict[str, date] = Field(default_factory=dict, exclude=True)
    held: dict[str, int] = Field(default_factory=dict, exclude=True)  # bed-space -> offer


def due_to_leave(problem: Problem) -> dict[str, date]:
    """Bed-space -> the passed expected leaving date of its resident, who has no move-out
    recorded; empty for a problem document not built by the service."""
    return problem.due_to_leave if isinstance(problem, ServiceProblem) else {}


def held(problem: Problem) -> dict[str, int]:
    """Bed-space -> the open offer holding it; empty for a problem document not built by the
    service."""
    return problem.held if isinstance(problem, ServiceProblem) else {}


def offered_resident(offer: OfferRow, referral: ReferralRow) -> Resident:
    """The person an open offer is made to, as the problem holds them: in the bed-space."""
    return Resident.model_validate(
        {
            "id": referral.id,
            "bedspace": offer.bedspace,
            "gender": referral.gender,
            "age": referral.age,
            "risk": referral.risk,
            "flags": list(referral.flags),
            "support_hours": referral.support_hours,
        }
    )


def _offered(session: Session) -> tuple[list[Resident], dict[str, int]]:
    rows = session.execute(
        select(OfferRow, ReferralRow)
        .join(ReferralRow, ReferralRow.id == OfferRow.referral)
        .where(OfferRow.state == "open")
    ).all()
    return (
        [offered_resident(offer, referral) for offer, referral in rows],
        {offer.bedspace: offer.id for offer, _ in rows},
    )


def keep_staying(residents: list[Resident], as_of: date) -> tuple[list[Resident], dict[str, date]]:
    """Residents with no move-out recorded, as the service's problem holds them: one whose
    expected leaving date has come stays, with no date, and their bed-space is due to leave
    (bed-space -> the passed date)."""
    due: dict[str, date] = {}
    staying = []
    for r in residents:
        if r.expected_leave is not None and r.expected_leave <= as_of:
            due[r.bedspace] = r.expected_leave
            r = r.model_copy(update={"expected_leave": None})
        staying.append(r)
    return staying, due


def build_problem(session: Session, as_of: date) -> Problem:
    """The stored state as a validated `Problem` (raises `ProblemInvalid` if inconsistent),
    a `ServiceProblem`: residents with no move-out recorded all stay."""
    residents, due = keep_staying(
        _all(session, ResidentRow, Resident, ResidentRow.left_on.is_(None)), as_of
    )
    offered, holds = _offered(session)
    if offered:
        residents = sorted(residents + offered, key=lambda r: r.id)
    referrals = _all(session, ReferralRow, Referral, ReferralRow.status == "waiting")
    referrals = _present_only(referrals, {r.id for r in residents})
    return ServiceProblem(
        due_to_leave=due,
        held=holds,
        as_of=as_of,
        areas=_all(session, AreaRow, Area),
        links=[
            Link(a=link.a, b=link.b, minutes=link.minutes)
            for link in session.scalars(select(LinkRow).order_by(LinkRow.id))
        ],
        units=_all(session, UnitRow, Unit),
        bedspaces=_all(session, BedSpaceRow, BedSpace),
        support_teams=_all(session, SupportTeamRow, SupportTeam),
        residents=residents,
        referrals=referrals,
        community_support=_community_support(session),
    )


def _community_support(session: Session) -> list[CommunitySupport]:
    """People teams support at home now (open support placements): in their caseloads."""
    rows = session.scalars(
        select(SupportPlacementRow)
        .where(SupportPlacementRow.ended.is_(None))
        .order_by(SupportPlacementRow.id)
    )
    return [
        CommunitySupport(
            id=row.referral,
            support_team=row.support_team,
            area=row.area,
            support_hours=row.support_hours,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class StayChange:
    """What committing a placement, an arrival or a move-out changed, as `build_problem`
    would read it back: residents new or changed (placed, arrived, with a new leaving date),
    the support teams whose caseload changed, residents who moved out, and the bed-spaces of
    the changed residents now due to leave. Read from the rows the transaction wrote, through
    the same models `build_problem` uses, so applying it gives the problem a fresh read
    gives."""

    residents: tuple[Resident, ...] = ()
    teams: tuple[SupportTeam, ...] = ()
    gone: frozenset[str] = frozenset()
    due: dict[str, date] = field(default_factory=dict)
    # Offers: referrals waiting again (an offer declined, withdrawn or expired), bed-spaces
    # newly held (-> offer) and bed-spaces no longer held.
    returned: tuple[Referral, ...] = ()
    held: dict[str, int] = field(default_factory=dict)
    released: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls,
        residents: Iterable[Any],
        as_of: date,
        teams: Iterable[Any] = (),
        gone: Iterable[str] = (),
    ) -> StayChange:
        """The change from the rows written: residents and teams as ORM rows."""
        staying, due = keep_staying(
            [Resident.model_validate(r, from_attributes=True) for r in residents], as_of
        )
        return cls(
            residents=tuple(staying),
            teams=tuple(SupportTeam.model_validate(t, from_attributes=True) for t in teams),
            gone=frozenset(gone),
            due=due,
        )

    def apply(self, problem: Problem) -> Problem:
        changed = {r.id: r for r in self.residents}
        before = [r for r in problem.residents if r.id not in self.gone]
        known = {r.id for r in before}
        residents = [changed.get(r.id, r) for r in before]
        added = [r for r in self.residents if r.id not in known]
        if added:
            residents = sorted(residents + added, key=lambda r: r.id)
        still_waiting = [r for r in problem.referrals if r.id not in changed]
        if self.returned:
            back = {r.id for r in self.returned}
            still_waiting = sorted(
                [r for r in still_waiting if r.id not in back] + list(self.returned),
                key=lambda r: r.id,
            )
        referrals = (
            _present_only(still_waiting, {r.id for r in residents})
            if len(still_waiting) != len(problem.referrals) or self.gone or self.returned
            else problem.referrals
        )
        teams = {t.id: t for t in self.teams}
        update: dict[str, Any] = {
            "residents": residents,
            "referrals": referrals,
            "support_teams": [teams.get(t.id, t) for t in problem.support_teams]
            if teams
            else problem.support_teams,
        }
        due = due_to_leave(problem)
        touched = {r.bedspace for r in problem.residents if r.id in self.gone or r.id in changed}
        if isinstance(problem, ServiceProblem) and (touched & due.keys() or self.due):
            kept = {b: d for b, d in due.items() if b not in touched}
            update["due_to_leave"] = {**kept, **self.due}
        if isinstance(problem, ServiceProblem) and (self.held or self.released):
            holds = {b: o for b, o in problem.held.items() if b not in self.released}
            update["held"] = {**holds, **self.held}
        return problem.model_copy(update=update)


@dataclass
class PendingChange:
    """A change staged in the cache while its transaction commits, and what was derived from
    the problem before it, to be carried over once it committed (or, with `after`, what the
    change staged before it will have carried over). The problem after it is worked out once
    it committed, before that is known: not while the transaction holds the write lock."""

    key: tuple[int, date]
    base: Problem
    change: StayChange
    derived: dict[Hashable, Any] = field(default_factory=dict)
    after: PendingChange | None = None
    problem: Problem | None = None  # once known to have committed
    known: threading.Event = field(default_factory=threading.Event)  # committed or not
    settled: threading.Event = field(default_factory=threading.Event)  # and cached
    committed: bool = False


# Carries something derived from a problem over to the problem after a change of stays
# (given too, for what only some changes touch).
Updater = Callable[[Any, Problem, "StayChange"], Any]
RANKING = "ranking"  # the ranking context, as `derived` keeps it


# A request that sees a staged change's version waits this long for its commit to be known;
# past it (a stalled commit), it reads the database as if nothing were staged.
SETTLE_WAIT_S = 5.0
# Answers kept per data version (see `ProblemCache.answer`); the oldest used goes first.
ANSWERS_KEPT = 64

T = TypeVar("T")


# From this many bed-spaces on, built data is frozen out of the collector's way (`api.heap`):
# a full collection over a city's portfolio stalls requests for 40-120 ms, while over a small
# one it is too short to matter and the settle's own collection would cost more.
SETTLE_FROM_BEDSPACES = 2000


def _settle_if_large(problem: Problem) -> None:
    if len(problem.bedspaces) >= SETTLE_FROM_BEDSPACES:
        settle_long_lived()


def _ranking_update(context: Any, problem: Problem, _change: StayChange) -> Any:
    from matcher.ranking_update import updated_context

    return updated_context(context, problem)


DEFAULT_UPDATERS: Mapping[Hashable, Updater] = {RANKING: _ranking_update}


class NotCarried(Exception):
    """Raised by an updater whose value the change touches: built anew when next asked."""


class ProblemCache:
    """The assembled problem (and anything derived from it) for the current data version.

    One thread builds while the others wait for its result, so a burst of requests after a
    write builds the problem and the ranking context once, not once per request. A problem
    is kept only if the data version did not move while it was being read.

    A placement, arrival or move-out does not send the next request back to the database: the
    writer stages its change before it commits (`stage`), and once it has committed works out
    the problem after it, carries over to it what is derived from the problem and has an
    updater (the ranking context, the bed-spaces each person declined), then makes them current
    together (`settle`). The carrying over is done
    after the commit, so the database's write lock (through which every audited read commits)
    is not held meanwhile; requests go on with the version before until the new one is
    current, whole: they see the old version or the new one, and the new one is built once,
    by the writer. The next writer builds on the staged problem, and carries its own change
    over once the one before it is current.

    `counts` says how often the whole database was read (`database_reads`), something
    derived was built from scratch (`builds:<name>`) or carried over (`updates:<name>`).
    """

    def __init__(self, updaters: Mapping[Hashable, Updater] | None = None) -> None:
        self._lock = threading.Lock()
        self._building = threading.Lock()
        self._key: tuple[int, date] | None = None
        self._problem: Problem | None = None
        self._derived: OrderedDict[Hashable, Any] = OrderedDict()
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._pending: dict[tuple[int, date], PendingChange] = {}
        self._updaters: dict[Hashable, Updater] = dict(
            updaters if updaters is not None else DEFAULT_UPDATERS
        )
        self.counts: Counter[str] = Counter()

    def _count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def read(self, session: Session, as_of: date) -> Problem:
        """`build_problem`, counted: the whole database read."""
        self._count("database_reads")
        return build_problem(session, as_of)

    def _cached(self, key: tuple[int, date]) -> Problem | None:
        with self._lock:
            return self._problem if key == self._key else None

    def problem(self, session: Session, as_of: date, version: int | None = None) -> Problem:
        """The problem at the data version (`version` if the caller has just read it, else
        read in the session's transaction), or a later one the cache already holds (writes
        went on since the caller read the version: it gets the state as it is now, as a
        request arriving now would); the session reads the database only if the cache holds
        neither."""
        key = (data_version(session) if version is None else version, as_of)
        cached = self._at_or_after(key) or self._settled(key)
        if cached is not None:
            return cached
        with self._building:
            cached = self._at_or_after(key)
            if cached is not None:
                return cached
            problem = self.read(session, as_of)
            if data_version(session) == key[0]:
                with self._lock:
                    if self._key is None or self._key[1] != as_of or self._key[0] < key[0]:
                        self._replace(key, problem)
                _settle_if_large(problem)
        return problem

    def _at_or_after(self, key: tuple[int, date]) -> Problem | None:
        """The cached problem if it is at `key`'s version or a later one (same date)."""
        with self._lock:
            held = self._key
            if held is not None and held[1] == key[1] and held[0] >= key[0]:
                return self._problem
        return None

    def _replace(
        self, key: tuple[int, date], problem: Problem, derived: Mapping[Hashable, Any] = {}
    ) -> None:
        """The cached problem becomes `problem`, with `derived` from it; all derived from the
        old one goes (the lock is held)."""
        self._key, self._problem = key, problem
        self._derived.clear()
        self._derived.update(derived)
        self._answers.clear()

    def problem_at(self, version: int, as_of: date) -> Problem | None:
        """The problem at `version` if the cache holds it or a change to it has committed
        and is being carried over, else None (no database read: for a caller holding the
        write lock, whose own transaction has moved the version)."""
        key = (version, as_of)
        cached = self._cached(key)
        if cached is not None:
            return cached
        committed = self._committed(key)
        return committed.problem if committed is not None else None  # set once committed

    def _committed(self, key: tuple[int, date]) -> PendingChange | None:
        """The change staged for `key`, once known to have committed (waited for)."""
        with self._lock:
            pending = self._pending.get(key)
        if pending is None:
            return None
        pending.known.wait(SETTLE_WAIT_S)
        return pending if pending.committed else None

    def stage(
        self, version: int, new_version: int, as_of: date, change: StayChange
    ) -> PendingChange | None:
        """Before committing a change that takes the data from `version` to `new_version`:
        the change, whose problem becomes the cached one, with what is derived from it carried
        over, once `settle` says it committed.

        Staged before the commit so that no request reads the whole database again for the
        new version; the work is done in `settle`, after the commit, so the database's write
        lock is held only to write. None when neither the cache nor a change that committed a
        moment ago is at `version` (the cache then reads the database when next asked). Call
        it holding the write lock, so that changes are staged one after the other.
        """
        key = (version, as_of)
        with self._lock:
            at = self._key == key
            base, derived = (self._problem, dict(self._derived)) if at else (None, {})
        after = None
        if base is None:
            after = self._committed(key)
            if after is None or after.problem is None:
                return None
            base = after.problem
        pending = PendingChange((new_version, as_of), base, change, derived, after)
        with self._lock:
            self._pending[pending.key] = pending
        return pending

    def settle(self, pending: PendingChange, committed: bool) -> None:
        """The staged change committed (it becomes the cached problem, with what is derived
        from the problem before carried over to it; anything else derived is built anew when
        asked) or did not (it is dropped). Call it whatever happened, after the commit."""
        if committed:
            try:
                pending.problem = pending.change.apply(pending.base)
            except Exception:  # the next request reads the database, as if nothing was staged
                self._count("update_failures:problem")
        problem = pending.problem
        pending.committed = committed = committed and problem is not None
        pending.known.set()
        carried: dict[Hashable, Any] = {}
        base = pending.base
        try:
            derived = pending.derived
            if committed and pending.after is not None:
                # Built on a change that may still be carrying its own derived values over.
                pending.after.settled.wait(SETTLE_WAIT_S)
                with self._lock:
                    before = pending.after.problem
                    ahead = before is not None and self._problem is before
                    derived = dict(self._derived) if ahead else {}
                    base = before if before is not None and ahead else base
            if problem is not None:
                carried = self._carried_over(derived, problem, pending.change)
        finally:
            with self._lock:
                if problem is not None and committed and self._problem is base:
                    self._replace(pending.key, problem, carried)
                if self._pending.get(pending.key) is pending:
                    del self._pending[pending.key]
            pending.settled.set()
        # No settle of the heap (`api.heap`) here: an update makes few objects, and those of
        # the version it replaces go by reference counting.

    def _carried_over(
        self, derived: Mapping[Hashable, Any], problem: Problem, change: StayChange
    ) -> dict[Hashable, Any]:
        """What has an updater, carried over to `problem`; the rest is built when asked."""
        carried: dict[Hashable, Any] = {}
        for name, value in derived.items():
            update = self._updaters.get(name)
            if update is None:
                continue
            try:
                carried[name] = update(value, problem, change)
            except NotCarried:
                continue
            except Exception:  # built from scratch when next asked for, as before
                self._count(f"update_failures:{name}")
            else:
                self._count(f"updates:{name}")
        return carried

    def _settled(self, key: tuple[int, date]) -> Problem | None:
        """For a request at `key` whose change is staged: the version before it while the
        change is carried over (a moment; the request is answered from the state as it was
        a moment ago, as if it had come a moment earlier), None if it did not commit."""
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None and not pending.settled.is_set():
                held = self._problem
                if held is not None and self._key is not None and self._key[1] == key[1]:
                    return held
        if pending is None:
            return None
        pending.settled.wait(SETTLE_WAIT_S)
        return self._at_or_after(key) if pending.committed else None

    def snapshot(
        self, session: Session, as_of: date, name: str, make: Callable[[Problem], T]
    ) -> tuple[int, Problem, T]:
        """(data version, problem, `make(problem)`), all three of one version.

        The version is the one the problem was read at, or older if writes kept moving it;
        a caller comparing it under the write lock then reads again, which is safe."""
        for _ in range(3):
            self.derived(session, as_of, name, make)
            with self._lock:
                key, problem, same = self._key, self._problem, self._derived.get(name)
            if key is not None and problem is not None and same is not None:
                # The value it holds now, if writes moved it on: of one version with it.
                return key[0], problem, same
        version = data_version(session)
        problem = self.read(session, as_of)
        self._count(f"builds:{name}")
        return version, problem, make(problem)

    def derived_now(self, version: int, as_of: date, name: str) -> Any | None:
        """What `derived` keeps under `name` if the cache is at (version, as_of), or a later
        version of that date, and has it; None otherwise. Never reads the database.

        While the change to `version` is being carried over, what the cache holds is the
        version before it, and is given, as `problem` gives it to a request in a thread:
        the answer is the one a moment earlier would have had."""
        with self._lock:
            held = self._key
            if held is None or held[1] != as_of:
                return None
            if held[0] < version and (version, as_of) not in self._pending:
                return None
            return self._derived.get(name)

    def derived(
        self,
        session: Session,
        as_of: date,
        name: str,
        make: Callable[[Problem], T],
        version: int | None = None,
        large: bool = True,
    ) -> T:
        """`make(problem)`, computed once per data version (e.g. a ranking context).
        `large=False` for something small (a few ids per person): the heap is not settled
        after building it, which would cost a full collection at every data version."""
        problem = self.problem(session, as_of, version)
        return self._once(self._derived, name, problem, make, settle=large)

    def answer(
        self, session: Session, as_of: date, key: Hashable, make: Callable[[Problem], T]
    ) -> T:
        """`make(problem)` for the current data version, kept for that version under `key`.

        For answers every caller with the same `key` shares (the vacancy board for one set
        of filters): at most `ANSWERS_KEPT` of them, the least recently used dropped first,
        since keys come from request parameters."""
        return self._once(self._answers, key, self.problem(session, as_of), make, ANSWERS_KEPT)

    def _once(
        self,
        store: OrderedDict[Hashable, Any],
        key: Hashable,
        problem: Problem,
        make: Callable[[Problem], T],
        limit: int | None = None,
        settle: bool = False,
    ) -> T:
        """`make(problem)` kept in `store` (emptied when the problem is replaced) under `key`;
        made by one thread while others asking wait, so a burst makes it once."""

        def kept() -> tuple[bool, Any]:
            with self._lock:
                if self._problem is not problem or key not in store:
                    return False, None
                store.move_to_end(key)
                return True, store[key]

        hit, value = kept()
        if hit:
            return value  # type: ignore[no-any-return]
        with self._building:
            hit, value = kept()
            if hit:
                return value  # type: ignore[no-any-return]
            made = make(problem)
            if store is self._derived:
                self._count(f"builds:{key}")
            with self._lock:
                kept_now = self._problem is problem
                if kept_now:
                    store[key] = made
                    if limit is not None and len(store) > limit:
                        store.popitem(last=False)
            if kept_now and settle:  # answers are small and come and go
                _settle_if_large(problem)
        return made
