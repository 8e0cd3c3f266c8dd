"""Batch allocation runs: solved in the background, with progress, accepted whole or in part.

A run solves every waiting referral against the stored state with `matcher.solve.solve`.
The solver's result is re-checked by the checker before it is stored, so a proposal that
breaks a hard rule never reaches a coordinator. A run proposes; accepting it offers (it does
not place): the chosen proposals become offers holding their bed-spaces, in one transaction
(`offers.offer_many`): all of them, or, if anything changed since the run made one of them
unsafe, none of them, with every reason. Each person then accepts or declines their offer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.db import data_version
from api.orm import AllocationResultRow, AllocationRunRow, ReferralRow
from api.security import Principal
from api.services import audit, floor_price
from api.services.assemble import build_problem
from api.services.errors import Conflict, NotFound
from api.services.offers import offer_many
from constraints.checker import check
from matcher.equity import CohortEquity, equity
from matcher.errors import BedmatchError, Issue, ProblemInvalid
from matcher.model import Assignment, CohortFloor, Referral, Solution

BACKENDS = ("cpsat", "pulp", "greedy")
PROGRESS_EVERY_S = 0.25
# A solver still busy this long after its time limit is taken to hang; the run then takes
# the greedy fallback, so one stuck solve cannot hold the single allocation worker for ever.
HANG_GRACE_MIN_S = 5.0
HANG_GRACE_SHARE = 0.5


def start(
    session: Session,
    factory: sessionmaker[Session],
    executor: Executor,
    user: Principal,
    as_of: date,
    backend: str,
    time_limit_s: float,
) -> AllocationRunRow:
    run = AllocationRunRow(
        status="queued",
        backend=backend,
        time_limit_s=time_limit_s,
        progress=0.0,
        message="waiting to start",
        created_by=user.username,
        created_at=audit.now(),
        data_version=data_version(session),
    )
    session.add(run)
    audit.record(session, user, "start_run", "allocation_run", "new", backend)
    session.commit()
    executor.submit(execute, factory, run.id, as_of)
    return run


def start_floor(
    session: Session,
    factory: sessionmaker[Session],
    executor: Executor,
    user: Principal,
    as_of: date,
    base_run_id: int,
    floor: CohortFloor,
    time_limit_s: float | None = None,
) -> AllocationRunRow:
    """Re-solve a run with a cohort floor: a new run whose proposals meet the floor, with the
    same data solved without it beside them, so the floor's price can be read off."""
    base = get(session, base_run_id)
    run = AllocationRunRow(
        status="queued",
        backend=base.backend,
        time_limit_s=time_limit_s or base.time_limit_s,
        progress=0.0,
        message="waiting to start",
        created_by=user.username,
        created_at=audit.now(),
        data_version=data_version(session),
        base_run_id=base.id,
        floor=floor.model_dump(mode="json"),
    )
    session.add(run)
    audit.record(
        session, user, "start_run", "allocation_run", "new", f"{base.backend} floor {floor.cohort}"
    )
    session.commit()
    executor.submit(execute, factory, run.id, as_of)
    return run


def _set(factory: sessionmaker[Session], run_id: int, **values: object) -> None:
    with factory() as session:
        session.execute(
            update(AllocationRunRow).where(AllocationRunRow.id == run_id).values(**values)
        )
        session.commit()


def execute(factory: sessionmaker[Session], run_id: int, as_of: date) -> None:
    """Solve one run and store its checked proposals; never raises (failures are stored)."""
    from matcher.solve import solve

    try:
        with factory() as session:
            run = session.get(AllocationRunRow, run_id)
            if run is None:
                return
            backend, limit = run.backend, run.time_limit_s
            version = data_version(session)
            free_problem = build_problem(session, as_of)
            floor = CohortFloor.model_validate(run.floor) if run.floor else None
        problem = floor_price.with_floor(free_problem, floor)
        # A floored run solves the same data twice, without the floor and with it.
        solves = 2 if floor is not None else 1
        _set(
            factory,
            run_id,
            status="running",
            progress=0.05,
            message="solving",
            data_version=version,
        )

        outcome: dict[str, object] = {}

        def solve_now() -> None:
            try:
                if floor is not None:
                    outcome["free"] = solve(free_problem, backend=backend, time_limit_s=limit)
                outcome["solution"] = solve(problem, backend=backend, time_limit_s=limit)
            except BaseException as error:  # reported through the run row below
                outcome["error"] = error

        worker = threading.Thread(target=solve_now, daemon=True)
        started = time.monotonic()
        give_up_s = solves * limit + max(HANG_GRACE_MIN_S, HANG_GRACE_SHARE * limit)
        worker.start()
        while worker.is_alive() and time.monotonic() - started < give_up_s:
            worker.join(PROGRESS_EVERY_S)
            elapsed = time.monotonic() - started
            done = min(1.0, elapsed / (solves * limit))
            _set(factory, run_id, progress=round(0.05 + 0.85 * done, 3))
        failure = outcome.get("error")
        if worker.is_alive():
            failure = TimeoutError(f"no answer {give_up_s:.0f} s after the time limit")
        note = ""
        if failure is not None:
            # Bad input or a missing backend is the run's answer; a solver that crashed or
            # hung is not, and the greedy allocation (checked like any other) stands in.
            if backend == "greedy" or isinstance(failure, BedmatchError):
                raise failure  # type: ignore[misc]
            outcome["solution"] = solve(problem, backend="greedy", time_limit_s=limit)
            note = f" (greedy fallback: the {backend} solver failed: {type(failure).__name__})"
        solution = outcome["solution"]
        from matcher.model import Solution

        assert isinstance(solution, Solution)
        free = outcome.get("free")
        if note:
            solution = solution.model_copy(update={"status": "fallback"})
        _set(factory, run_id, progress=0.95, message="checking every proposal")
        violations = check(problem, solution)
        if violations:
            raise RuntimeError(
                "the solver proposed placements that break hard rules; none are offered: "
                + "; ".join(sorted({v.message for v in violations}))
            )
        with factory() as session:
            for a in solution.assignments:
                session.add(
                    AllocationResultRow(
                        run_id=run_id,
                        referral=a.referral,
                        bedspace=a.bedspace,
                        support_team=a.support_team,
                        score=a.score,
                        terms=dict(a.terms),
                    )
                )
            for u in solution.unplaced:
                session.add(
                    AllocationResultRow(run_id=run_id, referral=u.referral, reasons=list(u.reasons))
                )
            # Support at home is started from the person's page, not offered with the run.
            for s in solution.support_placements:
                session.add(
                    AllocationResultRow(
                        run_id=run_id,
                        referral=s.referral,
                        support_team=s.support_team,
                        score=s.score,
                        terms=dict(s.terms),
                        reasons=[
                            f"Support at home with team {s.support_team} proposed: start it "
                            "from the person's page."
                        ],
                    )
                )
            session.execute(
                update(AllocationRunRow)
                .where(AllocationRunRow.id == run_id)
                .values(
                    status="done",
                    progress=1.0,
                    message=f"{len(solution.assignments)} placements proposed, "
                    + _support_proposed(solution)
                    + f"{len(solution.unplaced)} unplaced{note}",
                    finished_at=audit.now(),
                    solve_status=solution.status,
                    objective=solution.objective,
                    bound=solution.bound,
                    gap=solution.gap,
                    solve_seconds=solution.solve_seconds,
                    price=floor_price.price(
                        problem, free if isinstance(free, Solution) else None, solution
                    ),
                )
            )
            session.commit()
    except BaseException as error:  # noqa: BLE001 - a failed run is a stored result
        message = (
            str(error)
            if isinstance(error, BedmatchError | RuntimeError)
            else (f"the run failed: {type(error).__name__}")
        )
        _set(factory, run_id, status="failed", message=message, finished_at=audit.now())


def mark_interrupted(session: Session) -> int:
    """At start: runs left queued or running by a stopped service failed; say so."""
    result = session.execute(
        update(AllocationRunRow)
        .where(AllocationRunRow.status.in_(("queued", "running")))
        .values(
            status="failed",
            message="interrupted: the service stopped before the run finished; start it again",
            finished_at=audit.now(),
        )
    )
    session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


def get(session: Session, run_id: int) -> AllocationRunRow:
    run = session.get(AllocationRunRow, run_id)
    if run is None:
        raise NotFound("allocation run", run_id)
    return run


def results(session: Session, run_id: int) -> list[AllocationResultRow]:
    return list(
        session.scalars(
            select(AllocationResultRow)
            .where(AllocationResultRow.run_id == run_id)
            .order_by(AllocationResultRow.id)
        )
    )


def run_equity(
    session: Session, run: AllocationRunRow, rows: Sequence[AllocationResultRow]
) -> list[CohortEquity]:
    """Per cohort, the people the run considered, those it proposed to place, their waits on
    the run's day and the gap to the whole list (`matcher.equity`)."""
    ids = [r.referral for r in rows]
    referrals = [
        Referral.model_validate(row, from_attributes=True)
        for row in session.scalars(select(ReferralRow).where(ReferralRow.id.in_(ids)))
    ]
    proposed = {r.referral for r in rows if r.bedspace is not None}
    return equity(referrals, proposed, run.created_at.date())


def list_runs(session: Session, limit: int = 50) -> list[AllocationRunRow]:
    return list(
        session.scalars(select(AllocationRunRow).order_by(AllocationRunRow.id.desc()).limit(limit))
    )


def _support_proposed(solution: Solution) -> str:
    count = len(solution.support_placements)
    return f"{count} support at home, " if count else ""


def accept(
    session: Session,
    user: Principal,
    as_of: date,
    run_id: int,
    referrals: Sequence[str] | None,
) -> list[str]:
    """Offer the run's proposals for `referrals` (all proposals when None) in one go."""
    run = get(session, run_id)
    if run.status not in ("done", "partly_accepted"):
        raise Conflict(f"allocation run {run_id} is {run.status}; only a finished run is accepted")
    proposals = {r.referral: r for r in results(session, run_id) if r.bedspace is not None}
    if referrals is None:  # everything proposed and not yet accepted
        chosen = [ref for ref, row in proposals.items() if not row.accepted]
    else:
        chosen = list(dict.fromkeys(referrals))
    issues = [
        Issue(("body", "referrals", i), f"run {run_id} proposes no placement for {ref!r}")
        for i, ref in enumerate(chosen)
        if ref not in proposals
    ]
    if issues:
        raise ProblemInvalid(issues)
    already = [ref for ref in chosen if proposals[ref].accepted]
    if already:
        raise Conflict(f"already accepted from run {run_id}: {', '.join(already)}")
    if not chosen:
        raise ProblemInvalid([Issue(("body", "referrals"), "choose at least one proposal")])
    assignments = [
        Assignment(
            referral=ref,
            bedspace=proposals[ref].bedspace or "",
            support_team=proposals[ref].support_team,
        )
        for ref in chosen
    ]
    offer_many(session, user, as_of, assignments, run_id, now=audit.now())
    try:
        for ref in chosen:
            row = session.get(AllocationResultRow, proposals[ref].id)
            assert row is not None
            row.accepted = True
        remaining = session.scalar(
            select(AllocationResultRow.id).where(
                AllocationResultRow.run_id == run_id,
                AllocationResultRow.bedspace.is_not(None),
                AllocationResultRow.accepted.is_(False),
            )
        )
        stored = session.get(AllocationRunRow, run_id)
        assert stored is not None
        stored.status = "partly_accepted" if remaining is not None else "accepted"
        audit.record(session, user, "accept_run", "allocation_run", str(run_id), ",".join(chosen))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return chosen
