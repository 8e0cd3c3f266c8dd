"""Long-lived cached data is frozen out of the collector's generations once built, so a full
collection under load walks only what requests allocate."""

from __future__ import annotations

import gc
import weakref

import pytest

from api import heap
from api.db import lock_for_write
from api.heap import settle_long_lived
from api.services import assemble
from api.services.assemble import ProblemCache
from tests.api.conftest import Service
from tests.api.helpers import factory


class _Context:
    def __init__(self) -> None:
        self.parts: list[object] = [{"bedspaces": 10_000}]


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _cache(service: Service) -> ProblemCache:
    cache: ProblemCache = service.client.app.state.problem_cache  # type: ignore[attr-defined]
    return cache


def _tracked(obj: object) -> bool:
    """In one of the collector's generations (a frozen object is in none)."""
    return any(o is obj for o in gc.get_objects())


@pytest.fixture(autouse=True)
def settle_any_portfolio(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo portfolio is small; settle it as a city's would be."""
    monkeypatch.setattr(assemble, "SETTLE_FROM_BEDSPACES", 0)


def test_a_built_context_is_frozen_after_the_garbage_went(service: Service) -> None:
    cache = _cache(service)
    as_of = service.settings.placement_date()
    with factory(service.client)() as session:
        cache.problem(session, as_of)  # the problem itself is built and settled first
        gc.unfreeze()
        garbage = _Cycle()
        gone = weakref.ref(garbage)
        del garbage  # unreachable, but a cycle: only the collector frees it

        context = cache.derived(session, as_of, "probe", lambda problem: _Context())
        assert gc.get_freeze_count() > 0
        assert not _tracked(context.parts), "the context was left to every full collection"
        assert gone() is None, "cyclic garbage was frozen instead of collected"

        # An answer (one per filter, short-lived) is no reason to settle the heap.
        gc.unfreeze()
        cache.answer(session, as_of, ("probe",), lambda problem: [{"free": 3}])
        assert gc.get_freeze_count() == 0
        again = cache.derived(session, as_of, "probe", lambda problem: _Context())
        assert again is context and gc.get_freeze_count() == 0  # cached: nothing built


def test_the_problem_read_again_after_a_write_is_frozen(service: Service) -> None:
    cache = _cache(service)
    as_of = service.settings.placement_date()
    make_session = factory(service.client)
    with make_session() as session:
        before = cache.problem(session, as_of)
    with make_session() as session:
        lock_for_write(session)  # a write: the next request reads the database again
        session.commit()
    gc.unfreeze()
    with make_session() as session:
        after = cache.problem(session, as_of)
    assert after is not before
    assert gc.get_freeze_count() > 0 and not _tracked(after.units)


def test_a_small_portfolio_is_not_settled(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(assemble, "SETTLE_FROM_BEDSPACES", 10**6)
    cache = _cache(service)
    as_of = service.settings.placement_date()
    gc.unfreeze()
    with factory(service.client)() as session:
        cache.derived(session, as_of, "probe", lambda problem: _Context())
    assert gc.get_freeze_count() == 0


def test_a_settle_under_way_is_not_repeated() -> None:
    gc.unfreeze()
    with heap._settling:
        settle_long_lived()  # another thread is settling: this call returns at once
        assert gc.get_freeze_count() == 0
    settle_long_lived()
    assert gc.get_freeze_count() > 0
