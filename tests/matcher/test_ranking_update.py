"""A ranking context carried through placements, move-outs and arrivals ranks every referral
exactly as a context built from scratch on the same problem."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures import generate
from matcher import patched
from matcher.errors import ReferralNotFound
from matcher.explain_referral import ExplainContext, explain_referral
from matcher.free_dates import FreeDates
from matcher.model import Problem, Referral, Resident
from matcher.ranking import RankingContext, build_context, rank
from matcher.ranking_update import stay_changes, updated_context
from tests.strategies import problems


def _still_present(referrals: list[Referral], people: set[str]) -> list[Referral]:
    """As the service keeps them: names of people no longer here dropped."""
    waiting = {r.id for r in referrals}
    out = []
    for r in referrals:
        apart = [p for p in r.keep_apart if p in people | waiting]
        together = [p for p in r.keep_together if p in waiting]
        same = len(apart) == len(r.keep_apart) and len(together) == len(r.keep_together)
        out.append(
            r if same else r.model_copy(update={"keep_apart": apart, "keep_together": together})
        )
    return out


def _place(problem: Problem, ctx: RankingContext, pick: int) -> Problem | None:
    """Place a waiting referral (with any partners) in one of its ranked bed-spaces."""
    options = [(r.id, p) for r in problem.referrals for p in rank(ctx, r.id, cost_top=0).ranked]
    if not options:
        return None
    rid, placement = options[pick % len(options)]
    moves = [(rid, placement.bedspace, placement.support_team)] + [
        (p.referral, p.bedspace, p.support_team) for p in placement.partners
    ]
    by_id = {r.id: r for r in problem.referrals}
    new_residents = [
        Resident(
            id=ref,
            bedspace=bed,
            gender=by_id[ref].gender,
            age=by_id[ref].age,
            risk=by_id[ref].risk,
            flags=list(by_id[ref].flags),
            support_hours=by_id[ref].support_hours,
        )
        for ref, bed, _ in moves
    ]
    placed = {ref for ref, _, _ in moves}
    teams = list(problem.support_teams)
    for _, _, team in moves:
        if team is not None:
            i = next(k for k, t in enumerate(teams) if t.id == team)
            teams[i] = teams[i].model_copy(
                update={"current_caseload": teams[i].current_caseload + 1}
            )
    residents = sorted([*problem.residents, *new_residents], key=lambda r: r.id)
    referrals = [r for r in problem.referrals if r.id not in placed]
    referrals = _still_present(referrals, {r.id for r in residents})
    return problem.model_copy(
        update={"residents": residents, "referrals": referrals, "support_teams": teams}
    )


def _move_out(problem: Problem, pick: int, team_pick: int) -> Problem | None:
    present = [r for r in problem.residents if problem.resident_is_present(r)]
    if not present:
        return None
    gone = present[pick % len(present)]
    residents = [r for r in problem.residents if r.id != gone.id]
    teams = list(problem.support_teams)
    with_caseload = [i for i, t in enumerate(teams) if t.current_caseload > 0]
    if with_caseload and team_pick % 2:
        i = with_caseload[team_pick % len(with_caseload)]
        teams[i] = teams[i].model_copy(update={"current_caseload": teams[i].current_caseload - 1})
    referrals = _still_present(problem.referrals, {r.id for r in residents})
    return problem.model_copy(
        update={"residents": residents, "referrals": referrals, "support_teams": teams}
    )


def _redate(problem: Problem, pick: int, days: int, arrival: bool) -> Problem | None:
    """An arrival recorded, or an expected leaving date moved (which may take a resident out
    of the problem document's view, or bring them back)."""
    if not problem.residents:
        return None
    residents = list(problem.residents)
    i = pick % len(residents)
    day = problem.as_of + timedelta(days=days)
    field = "arrived" if arrival else "expected_leave"
    residents[i] = residents[i].model_copy(update={field: day})
    return problem.model_copy(update={"residents": residents})


def _same(a: Any, b: Any, where: str) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype or a.size == 0, where
        if a.shape != b.shape and 1 in a.shape + b.shape:
            assert np.array_equal(*np.broadcast_arrays(a, b)), where
            return
        assert np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}[{k}]")
    elif isinstance(a, list | tuple) and a and isinstance(a[0], np.ndarray):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{k}]")
    else:
        assert a == b, where


def _waiting_rows(ctx: RankingContext, ids: list[str]) -> np.ndarray:
    index = ctx.tables.referrals.index
    return np.array([index[i] for i in ids], dtype=np.int64)


def assert_same_context(updated: RankingContext, fresh: RankingContext) -> None:
    """Every array and table of the two contexts holds the same values, for the referrals
    still waiting (a carried-over context keeps the rows of those placed, marked absent)."""
    ids = fresh.tables.referrals.ids
    rows = _waiting_rows(updated, ids)
    absent = np.ones(len(updated.tables.referrals), dtype=bool)
    absent[rows] = False
    marked = updated.absent if updated.absent is not None else np.zeros_like(absent)
    assert marked.tolist() == absent.tolist()
    assert all(updated.is_waiting(i) for i in ids)
    assert [updated.tables.referrals.ids[i] for i in rows.tolist()] == ids
    renumber = {old: new for new, old in enumerate(rows.tolist())}

    def by_row(array: Any, axis: int = 0) -> Any:
        array = np.asarray(array)
        if array.shape[axis] == 1 and len(ids) != 1:
            return array  # one row broadcast to every referral
        return np.take(array, rows, axis=axis)

    for part in ("units", "beds", "clusters", "teams"):
        for name, value in vars(getattr(fresh.tables, part)).items():
            _same(vars(getattr(updated.tables, part))[name], value, f"tables.{part}.{name}")
    for name, value in vars(fresh.tables.referrals).items():
        if name in ("ids", "index"):
            continue
        mine = vars(updated.tables.referrals)[name]
        if isinstance(value, dict):
            for flag, column in value.items():
                _same(by_row(mine[flag]), column, f"tables.referrals.{name}[{flag}]")
        else:
            _same(by_row(mine), value, f"tables.referrals.{name}")
    _same(updated.tables.resident_unit, fresh.tables.resident_unit, "resident_unit")
    _same(updated.tables.resident_area, fresh.tables.resident_area, "resident_area")
    assert [updated.tables.problem.referrals[i] for i in rows.tolist()] == list(
        fresh.tables.problem.referrals
    )
    for name, value in fresh.scores.terms.items():
        _same(by_row(updated.scores.terms[name]), value, f"scores.terms[{name}]")
    _same(by_row(updated.eligibility.allowed), fresh.eligibility.allowed, "allowed")
    _same(by_row(updated.eligibility.unit_allowed), fresh.eligibility.unit_allowed, "unit_allowed")
    for name in (
        "total",
        "unit_failures",
        "bed_failures",
        "counts",
        "eligible_total",
        "best_unit",
        "eligible_women_only",
        "reserve_exempt",
    ):
        _same(by_row(getattr(updated, name)), getattr(fresh, name), name)
    for name in ("allowed_by_bed", "counts_by_unit"):
        _same(by_row(getattr(updated, name), axis=1), getattr(fresh, name), name)
    for name in ("reserve_room", "bed_cost_case", "best_in_unit_start", "best_in_unit_end"):
        _same(getattr(updated, name), getattr(fresh, name), name)
    if updated.absent is not None:
        gone = updated.absent
        assert not np.asarray(updated.eligible_total)[gone].any()
        assert (np.asarray(updated.best_unit)[gone] == -1).all()
    _same(
        np.array([renumber[i] for i in updated.best_in_units.tolist()], dtype=np.int64),
        fresh.best_in_units,
        "best_in_units",
    )
    _same(
        {renumber[i]: [renumber[j] for j in g] for i, g in updated.groups.items()},
        fresh.groups,
        "groups",
    )
    for name in ("keep_apart", "da_apart"):
        _same(
            {renumber[i]: {renumber[j] for j in s} for i, s in getattr(updated, name).items()},
            getattr(fresh, name),
            name,
        )


def assert_ranks_alike(updated: RankingContext, fresh: RankingContext) -> None:
    """Every referral still waiting is ranked and explained alike; those placed are unknown."""
    assert updated.problem is fresh.problem or updated.problem == fresh.problem
    free_dates = FreeDates.build(fresh.problem)
    for referral in fresh.problem.referrals:
        for detail in ("full", "summary"):
            got = rank(updated, referral.id, detail=detail).model_dump()  # type: ignore[arg-type]
            want = rank(fresh, referral.id, detail=detail).model_dump()  # type: ignore[arg-type]
            assert got == want, (referral.id, detail)
        got_why = explain_referral(ExplainContext(updated, free_dates), referral.id)
        want_why = explain_referral(ExplainContext(fresh, free_dates), referral.id)
        assert got_why.model_dump() == want_why.model_dump(), referral.id
    waiting = {r.id for r in fresh.problem.referrals}
    for gone in set(updated.tables.referrals.ids) - waiting:
        assert not updated.is_waiting(gone)
        with pytest.raises(ReferralNotFound):
            rank(updated, gone)


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["place", "place", "place", "move_out", "arrive", "redate"]),
        st.integers(0, 10_000),
        st.integers(-30, 30),
    ),
    min_size=1,
    max_size=6,
)


def _run(problem: Problem, operations: list[tuple[str, int, int]]) -> None:
    ctx = build_context(problem)
    for kind, pick, days in operations:
        if kind == "place":
            after = _place(problem, ctx, pick)
        elif kind == "move_out":
            after = _move_out(problem, pick, days)
        else:
            after = _redate(problem, pick, days, arrival=kind == "arrive")
        if after is None:
            continue
        ctx = updated_context(ctx, after)
        fresh = build_context(after)
        assert_same_context(ctx, fresh)
        assert_ranks_alike(ctx, fresh)
        problem = after


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems(max_referrals=8, max_beds=10), operations=OPERATIONS)
def test_an_updated_context_ranks_as_one_built_from_scratch(
    problem: Problem, operations: list[tuple[str, int, int]]
) -> None:
    _run(problem, operations)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 50), operations=OPERATIONS)
def test_an_updated_context_ranks_as_one_built_from_scratch_on_a_portfolio(
    seed: int, operations: list[tuple[str, int, int]]
) -> None:
    _run(generate(seed, 25, 60), operations)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 50),
    picks=st.lists(st.integers(0, 10_000), min_size=8, max_size=20),
)
def test_a_long_run_of_placements_ranks_alike_when_patches_are_folded_in(
    seed: int, picks: list[int]
) -> None:
    """With room for only a few patched columns, arrays are copied whole with their patches
    every few placements: still exactly what a context built from scratch gives."""
    problem = generate(seed, 30, 60)
    ctx = build_context(problem)
    with (
        mock.patch.object(patched, "MOST_PATCHED_FLOOR", 2),
        mock.patch.object(patched, "MOST_PATCHED_SHARE", 2),
    ):
        for pick in picks:
            after = _place(problem, ctx, pick)
            if after is None:
                break
            ctx = updated_context(ctx, after)
            problem = after
        fresh = build_context(problem)
        assert_same_context(ctx, fresh)
        assert_ranks_alike(ctx, fresh)


def test_a_change_beyond_stays_builds_the_context_afresh() -> None:
    problem = generate(3, 10, 20)
    ctx = build_context(problem)
    moved = problem.model_copy(update={"as_of": problem.as_of + timedelta(days=1)})
    assert stay_changes(problem, moved, ctx.tables) is None
    new_referral = problem.referrals[0].model_copy(update={"id": "R-new"})
    more = problem.model_copy(update={"referrals": [*problem.referrals, new_referral]})
    assert stay_changes(problem, more, ctx.tables) is None
    assert_same_context(updated_context(ctx, more), build_context(more))
