"""After a placement the service applies it to its cached problem instead of reading the whole
database again; what it holds must be exactly what a fresh read gives."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from api.db import data_version
from api.orm import ReferralRow, ResidentRow
from api.security import Principal, Role
from api.services.assemble import ProblemCache, StayChange, build_problem
from api.services.errors import Conflict
from api.services.placements import place
from fixtures import generate
from tests.api.conftest import Service
from tests.api.helpers import factory, placeable


def _cache_is_the_stored_state(service: Service) -> None:
    client = service.client
    cache = client.app.state.problem_cache
    as_of = service.settings.placement_date()
    with factory(client)() as session:
        version = data_version(session)
        cached = cache.problem_at(version, as_of)
        assert cached is not None, "the cache was not advanced by the placement"
        assert cached == build_problem(session, as_of)


def _place(service: Service, referral: str, bedspace: str, rank: int) -> None:
    body = {"referral": referral, "bedspace": bedspace}
    if rank != 1:
        body["reason"] = "closer to their school"
    answer = service.client.post(
        "/api/placements", json=body, headers=service.as_role(Role.coordinator)
    )
    assert answer.status_code == 201, answer.text


def test_placements_keep_the_cached_problem_equal_to_the_database(service: Service) -> None:
    client, coordinator = service.client, service.as_role(Role.coordinator)
    # A resident's recorded move-out frees their bed-space: record one, then fill it.
    as_of = service.settings.placement_date()
    with factory(client)() as session:
        occupied = {
            r.bedspace: r
            for r in session.scalars(select(ResidentRow).where(ResidentRow.left_on.is_(None)))
        }
    options = placeable(client)
    leaving = next(
        occupied[b]
        for b in sorted(occupied)
        if occupied[b].arrived is None or occupied[b].arrived <= as_of - timedelta(days=1)
    )
    assert client.get("/api/vacancies", headers=coordinator).status_code == 200  # cached
    moved = client.post(
        f"/api/residents/{leaving.id}/move-out",
        json={"on": (as_of - timedelta(days=1)).isoformat()},
        headers=coordinator,
    )
    assert moved.status_code == 200, moved.text
    _cache_is_the_stored_state(service)
    options = placeable(client)
    assert options.get(leaving.bedspace), "the moved-out resident's bed-space is free to take"

    referral, rank = options[leaving.bedspace][0]
    _place(service, referral, leaving.bedspace, rank)
    _cache_is_the_stored_state(service)

    waiting = client.get("/api/referrals?status=waiting&limit=200", headers=coordinator).json()
    placed = 0
    for candidate in waiting:
        if placed == 6:
            break
        if candidate["keep_together"]:
            continue
        url = f"/api/referrals/{candidate['id']}/rank"
        ranked = client.get(url, params={"top": 2}, headers=coordinator).json()["ranked"]
        if not ranked or ranked[0]["partners"]:
            continue
        # One of them an override: a safe placement other than the top one.
        pick = ranked[-1] if placed == 2 else ranked[0]
        _place(service, candidate["id"], pick["bedspace"], pick["rank"])
        placed += 1
        _cache_is_the_stored_state(service)
    assert placed == 6


def test_a_staged_change_is_cached_only_once_it_committed() -> None:
    problem = generate(3, 6, 12)
    resident = problem.residents[0]
    change = StayChange(gone=frozenset({resident.id}))
    cache = ProblemCache()
    cache._key, cache._problem = (7, problem.as_of), problem  # as a read at version 7 leaves it

    dropped = cache.stage(7, 8, problem.as_of, change)
    assert dropped is not None
    cache.settle(dropped, committed=False)
    assert cache.problem_at(8, problem.as_of) is None
    assert cache.problem_at(7, problem.as_of) is problem

    kept = cache.stage(7, 8, problem.as_of, change)
    assert kept is not None
    cache.settle(kept, committed=True)
    after = cache.problem_at(8, problem.as_of)
    assert after is not None and resident.id not in {r.id for r in after.residents}
    assert cache.stage(7, 8, problem.as_of, change) is None  # no longer at version 7


def test_changes_staged_back_to_back_carry_over_in_order_and_readers_never_wait_on_them() -> None:
    """A second writer stages on the first's problem while the first is still carrying its
    derived values over; readers meanwhile get the version before, whole; in the end the
    cache holds the second's problem with its derived value carried over both changes."""
    import threading

    problem = generate(3, 6, 12)
    as_of = problem.as_of
    first, second = problem.residents[0], problem.residents[1]
    release = threading.Event()
    carried: list[tuple[object, int]] = []

    def slow_update(value: object, after: object, change: object) -> object:
        release.wait(5)  # the first writer is slow to carry over
        carried.append((value, len(after.residents)))  # type: ignore[attr-defined]
        return ("carried", value, len(after.residents))  # type: ignore[attr-defined]

    cache = ProblemCache(updaters={"ranking": slow_update})
    cache._key, cache._problem = (7, as_of), problem
    cache._derived["ranking"] = "built at 7"

    p1 = cache.stage(7, 8, as_of, StayChange(gone=frozenset({first.id})))
    assert p1 is not None
    settling = threading.Thread(target=cache.settle, args=(p1, True))
    settling.start()  # committed; carrying over, held up
    p1.known.wait(5)
    assert cache.problem_at(8, as_of) is p1.problem  # the next writer's view, at once
    # A reader of version 8 meanwhile: the version before, with its derived value.
    assert cache._settled((8, as_of)) is problem
    p2 = cache.stage(8, 9, as_of, StayChange(gone=frozenset({second.id})))
    assert p2 is not None and p2.base is p1.problem
    finishing = threading.Thread(target=cache.settle, args=(p2, True))
    finishing.start()
    release.set()
    settling.join(5)
    finishing.join(5)

    assert cache.problem_at(9, as_of) is p2.problem
    assert cache.derived_now(9, as_of, "ranking") == (
        "carried",
        ("carried", "built at 7", len(problem.residents) - 1),
        len(problem.residents) - 2,
    )
    assert [n for _, n in carried] == [len(problem.residents) - 1, len(problem.residents) - 2]


def test_a_referral_placed_between_reading_it_and_ranking_it_gets_409(service: Service) -> None:
    """The row read first still says waiting, the cached state read next says placed (the
    race the service sees when another coordinator commits in between): a 409, not a 404."""
    client = service.client
    cache = client.app.state.problem_cache
    as_of = service.settings.placement_date()
    where: dict[str, list[tuple[str, int]]] = {}
    for bed, choices in sorted(placeable(client).items()):
        for referral, rank in choices:
            where.setdefault(referral, []).append((bed, rank))
    referral, [(bedspace, rank), (other_bedspace, _), *_] = next(
        (r, beds) for r, beds in sorted(where.items()) if len(beds) > 1
    )

    with factory(client)() as late:
        stale = late.get(ReferralRow, referral)  # held, so this session keeps what it read
        assert stale is not None and stale.status == "waiting"
        _place(service, referral, bedspace, rank)  # another coordinator, meanwhile
        with pytest.raises(Conflict, match="is placed, not waiting"):
            late_coordinator = Principal("late", Role.coordinator)
            place(
                late,
                late_coordinator,
                as_of,
                referral,
                other_bedspace,
                reason="near school",
                cache=cache,
            )
    _cache_is_the_stored_state(service)


def test_the_vacancy_board_is_kept_per_version_per_role_and_per_filter(
    sqlite_service: Service,
) -> None:
    """Kept answers never cross roles (a refuge's address only for coordinators), filters
    or writes: each equals the board computed afresh from the stored state."""
    from api.services.board import vacancy_board
    from capacity.vacancies import VacancyFilters

    service = sqlite_service
    client = service.client
    as_of = service.settings.placement_date()

    def fresh(show: bool, filters: VacancyFilters) -> object:
        with factory(client)() as session:
            problem = build_problem(session, as_of)
        return vacancy_board(problem, filters, show_confidential=show).model_dump(mode="json")

    asks = [
        (Role.coordinator, {}, True),
        (Role.housing_options, {}, False),
        (Role.coordinator, {"gender_policy": "women_only"}, True),
        (Role.housing_options, {"gender_policy": "women_only"}, False),
    ]
    for round_ in range(2):  # the second round is answered from what the first kept
        for role, params, show in asks:
            board = client.get("/api/vacancies", params=params, headers=service.as_role(role))
            assert board.status_code == 200, board.text
            assert board.json() == fresh(show, VacancyFilters(**params)), (round_, role, params)
        hidden = client.get("/api/vacancies", headers=service.as_role(Role.housing_options))
        assert '"Confidential address"' in hidden.text
    before = client.get("/api/vacancies", headers=service.as_role(Role.housing_options)).json()
    bedspace, [(referral, rank), *_] = next(iter(sorted(placeable(client).items())))
    _place(service, referral, bedspace, rank)
    after = client.get("/api/vacancies", headers=service.as_role(Role.housing_options)).json()
    assert after["totals"]["free_now"] == before["totals"]["free_now"] - 1
    assert after == fresh(False, VacancyFilters())


def test_stays_carry_the_ranking_context_over_without_reading_or_building_again(
    sqlite_service: Service,
) -> None:
    """Placements, an arrival and move-outs through the API: the cache reads the database
    and builds the ranking context once, then carries both over each change, and what it
    holds ranks every referral exactly as a context built afresh from the database."""
    from matcher.ranking import build_context
    from tests.matcher.test_ranking_update import assert_ranks_alike, assert_same_context

    service = sqlite_service
    client, coordinator = service.client, service.as_role(Role.coordinator)
    cache = client.app.state.problem_cache
    as_of = service.settings.placement_date()
    waiting = client.get("/api/referrals?status=waiting&limit=200", headers=coordinator).json()
    url = f"/api/referrals/{waiting[0]['id']}/rank"
    assert client.get(url, headers=coordinator).status_code == 200
    before = dict(cache.counts)
    assert before.get("database_reads") == 1 and before.get("builds:ranking") == 1

    writes = 0
    for candidate in waiting:
        if writes == 3:
            break
        rank_url = f"/api/referrals/{candidate['id']}/rank"
        ranked = client.get(rank_url, params={"top": 1}, headers=coordinator).json()["ranked"]
        if not ranked or ranked[0]["partners"]:
            continue
        _place(service, candidate["id"], ranked[0]["bedspace"], 1)
        writes += 1
    residents = client.get("/api/residents", headers=coordinator).json()
    arrival = client.post(
        f"/api/residents/{residents[0]['id']}/arrival",
        json={"on": as_of.isoformat()},
        headers=coordinator,
    )
    assert arrival.status_code == 200, arrival.text
    for resident, on in ((residents[1], as_of), (residents[2], as_of + timedelta(days=30))):
        moved = client.post(
            f"/api/residents/{resident['id']}/move-out",
            json={"on": on.isoformat()},
            headers=coordinator,
        )
        assert moved.status_code == 200, moved.text
    writes += 3
    assert client.get(url, headers=coordinator).status_code in (200, 409)

    assert cache.counts["database_reads"] == 1
    assert cache.counts["builds:ranking"] == 1
    assert cache.counts["updates:ranking"] == writes
    _cache_is_the_stored_state(service)
    with factory(client)() as session:
        version = data_version(session)
        fresh = build_context(build_problem(session, as_of))
    carried = cache.derived_now(version, as_of, "ranking")
    assert carried is not None
    assert_same_context(carried, fresh)
    assert_ranks_alike(carried, fresh)


def test_only_large_derived_values_settle_the_heap(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Settling the heap is a full collection: worth it after building a ranking context,
    not after a small per-version map (it made every placement under load collect the whole
    heap). Ranking through the API after placements settles nothing."""
    import api.services.assemble as assemble

    settled: list[int] = []
    monkeypatch.setattr(assemble, "SETTLE_FROM_BEDSPACES", 0)
    monkeypatch.setattr(assemble, "settle_long_lived", lambda: settled.append(1))
    cache = ProblemCache()
    with factory(sqlite_service.client)() as session:
        on = sqlite_service.settings.placement_date()
        cache.problem(session, on)  # a whole read settles: after it, only what is derived
        settled.clear()
        cache.derived(session, on, "small", lambda _p: {"a": 1}, large=False)
        assert settled == []
        cache.derived(session, on, "large", lambda p: len(p.bedspaces))
        assert len(settled) == 1

    client, headers = sqlite_service.client, sqlite_service.as_role(Role.coordinator)
    options = placeable(client)
    bed, [(referral, _), *_] = next(
        (b, o) for b, o in options.items() if any(rank == 1 for _, rank in o)
    )
    referral = next(r for r, rank in options[bed] if rank == 1)
    client.get(f"/api/referrals/{referral}/rank?detail=summary", headers=headers)
    placed = client.post(
        "/api/placements", json={"referral": referral, "bedspace": bed}, headers=headers
    )
    assert placed.status_code == 201, placed.text
    settled.clear()
    others = [r for r in client.get("/api/referrals?status=waiting", headers=headers).json()]
    for other in others[:3]:
        client.get(f"/api/referrals/{other['id']}/rank?detail=summary", headers=headers)
    assert settled == []


def test_an_answer_on_the_loop_gets_the_version_before_while_a_change_is_carried_over() -> None:
    """Between a change's commit and its carrying over, an answer on the event loop
    (`derived_now`) gets the version before, as a request in a thread does; sending it to a
    thread instead made every ranking after a placement queue there under load."""
    import threading

    problem = generate(3, 6, 12)
    as_of = problem.as_of
    release = threading.Event()

    def slow_update(value: object, after: object, change: object) -> object:
        release.wait(5)
        return ("carried", value)

    cache = ProblemCache(updaters={"ranking": slow_update})
    cache._key, cache._problem = (7, as_of), problem
    cache._derived["ranking"] = "built at 7"
    staged = cache.stage(7, 8, as_of, StayChange(gone=frozenset({problem.residents[0].id})))
    assert staged is not None
    settling = threading.Thread(target=cache.settle, args=(staged, True))
    settling.start()
    staged.known.wait(5)
    assert cache.derived_now(8, as_of, "ranking") == "built at 7"
    assert cache.derived_now(9, as_of, "ranking") is None  # nothing staged for version 9
    release.set()
    settling.join(5)
    assert cache.derived_now(8, as_of, "ranking") == ("carried", "built at 7")


def test_a_change_the_cache_cannot_apply_sends_the_next_request_to_the_database() -> None:
    """The problem after a change is worked out after the commit; if that fails, the change
    is not cached and the next request reads the stored state, never a half-applied one."""

    class Unreadable(StayChange):
        def apply(self, problem: object) -> object:  # type: ignore[override]
            raise ValueError("cannot apply")

    problem = generate(3, 6, 12)
    cache = ProblemCache()
    cache._key, cache._problem = (7, problem.as_of), problem
    staged = cache.stage(7, 8, problem.as_of, Unreadable())
    assert staged is not None
    cache.settle(staged, committed=True)
    assert cache.problem_at(8, problem.as_of) is None
    assert cache.counts["update_failures:problem"] == 1
    assert not cache._pending


def test_the_declined_map_is_carried_over_a_placement_and_built_again_after_a_decline(
    sqlite_service: Service,
) -> None:
    """Placing someone declines nothing, so what each person declined is carried over; a
    declined offer changes it, so it is built again, and the ranking leaves the bed-space out."""
    from api.services.offers import DECLINED

    service = sqlite_service
    client, coordinator = service.client, service.as_role(Role.coordinator)
    cache = client.app.state.problem_cache
    options = placeable(client)
    firsts = [(r, b) for b, o in sorted(options.items()) for r, rank in o if rank == 1]
    (placed, bed), (declining, offered) = (
        firsts[0],
        next((r, b) for r, b in firsts if r != firsts[0][0] and b != firsts[0][1]),
    )
    summary = {"detail": "summary"}
    assert client.get(f"/api/referrals/{declining}/rank", params=summary, headers=coordinator)
    assert cache.counts[f"builds:{DECLINED}"] == 1
    _place(service, placed, bed, 1)
    assert cache.counts[f"updates:{DECLINED}"] == 1

    made = client.post(
        "/api/offers", json={"referral": declining, "bedspace": offered}, headers=coordinator
    )
    assert made.status_code == 201, made.text
    declined = client.post(
        f"/api/offers/{made.json()['id']}/decline",
        json={"reason_code": "person_refused", "text": "too far"},
        headers=coordinator,
    )
    assert declined.status_code == 200, declined.text
    ranked = client.get(
        f"/api/referrals/{declining}/rank", params={**summary, "top": 50}, headers=coordinator
    )
    assert ranked.status_code == 200, ranked.text
    assert offered not in {p["bedspace"] for p in ranked.json()["ranked"]}
    assert cache.counts[f"builds:{DECLINED}"] == 2
