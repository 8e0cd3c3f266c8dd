"""A stateful property test of the whole service: random sequences of create referral, rank,
place, override, batch accept, move-out and import, through the HTTP API, on a fresh copy of a
seeded database per sequence.

After every step the stored state, rebuilt as a `Problem` plus the current placements, breaks
no hard rule (`constraints.checker.check` for the people the service placed, with every
referral field they came with; `resident_violations` for the state as the service itself
assembles it); no bed-space holds two present people; caseloads and support hours are within
capacity; and the audit trail holds exactly one read event for every person each answer showed.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from api.app import create_app, prepare_database
from api.db import make_engine
from api.orm import AuditEventRow, ReferralRow, ResidentRow, SupportTeamRow
from api.security import Role
from api.services.assemble import build_problem
from constraints.checker import check, resident_violations
from matcher.model import Assignment, Flag, Gender, Pathway, Problem, Referral, Risk, Solution
from tests.api.conftest import settings_for
from tests.api.helpers import people_named
from tests.reliability.live import role_headers

C = Role.coordinator
SMALL = {"demo_seed": 11, "demo_referrals": 24, "demo_beds": 40}
STEPS_RUN: Counter[str] = Counter()
ACTIONS = ("create_referral", "rank", "place", "override", "batch_accept", "move_out", "import")

referral_fields = st.fixed_dictionaries(
    {
        "age": st.integers(16, 75),
        "gender": st.sampled_from([g.value for g in Gender]),
        "risk": st.sampled_from([r.value for r in Risk]),
        "flags": st.lists(st.sampled_from([f.value for f in Flag]), max_size=3, unique=True),
        "support_hours": st.sampled_from([0, 2, 5, 10]),
        "needs_24_7": st.booleans(),
        "needs_accessible": st.booleans(),
        "pathway": st.sampled_from([p.value for p in Pathway]),
        "priority": st.integers(1, 5),
        "wants_female_worker": st.booleans(),
    }
)


class ServiceMachine(RuleBasedStateMachine):
    template: ClassVar[Path]
    workdir: ClassVar[Path]
    numbers = itertools.count()

    def __init__(self) -> None:
        super().__init__()
        path = self.workdir / f"machine-{next(self.numbers)}.db"
        shutil.copy(self.template, path)
        self.settings = settings_for(f"sqlite:///{path}", **SMALL)
        self.client = TestClient(create_app(self.settings))
        self.client.__enter__()
        self.headers = role_headers(self.settings)[C]
        self.as_of = self.settings.placement_date()
        self.reads: Counter[tuple[str, str]] = Counter()
        self.created = itertools.count(1)
        with self.factory() as session:
            problem = build_problem(session, self.as_of)
            self.initial_residents = {r.id for r in problem.residents}
            self.initial_violations = {(v.rule, v.message) for v in resident_violations(problem)}
            self.initial_caseload = {
                t.id: t.current_caseload for t in session.scalars(select(SupportTeamRow))
            }

    def teardown(self) -> None:
        self.client.__exit__(None, None, None)

    @property
    def factory(self) -> Any:
        return self.client.app.state.sessionmaker  # type: ignore[attr-defined]

    # --- reading, as the service's users do (every personal-data read is counted) ---------

    def get(self, url: str, **params: Any) -> Any:
        response = self.client.get(url, params=params, headers=self.headers)
        assert response.status_code == 200, (url, response.text)
        return response.json()

    def waiting(self) -> list[str]:
        views = self.get("/api/referrals", status="waiting", limit=1000)
        for view in views:
            self.reads["referral", view["id"]] += 1
        return sorted(v["id"] for v in views)

    def present(self) -> list[str]:
        views = self.get("/api/residents", limit=1000)
        for view in views:
            self.reads["resident", view["id"]] += 1
        return sorted(v["id"] for v in views)

    def rank(self, referral: str, top: int = 10) -> dict[str, Any]:
        result: dict[str, Any] = self.get(f"/api/referrals/{referral}/rank", top=top)
        for person in people_named(result):
            self.reads["referral", person] += 1
        return result

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.client.post(url, headers=self.headers, **kwargs)

    def new_referral(self, data: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": f"S{next(self.created):05d}",
            "referred": (self.as_of - timedelta(days=data["age"] % 30)).isoformat(),
            **data,
        }

    # --- rules ----------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        STEPS_RUN["sequences"] += 1

    @rule(data=referral_fields)
    def create_referral(self, data: dict[str, Any]) -> None:
        STEPS_RUN["create_referral"] += 1
        response = self.post("/api/referrals", json=self.new_referral(data))
        assert response.status_code in (201, 422), response.text

    @rule(pick=st.integers(0, 10_000))
    def rank_one(self, pick: int) -> None:
        waiting = self.waiting()
        if waiting:
            STEPS_RUN["rank"] += 1
            result = self.rank(waiting[pick % len(waiting)])
            for placed in result["ranked"]:
                assert placed["reasons"], placed

    @rule(pick=st.integers(0, 10_000))
    def place_top_choice(self, pick: int) -> None:
        waiting = self.waiting()
        # From the picked referral on, the first whom some bed-space suits.
        for offset in range(len(waiting)):
            referral = waiting[(pick + offset) % len(waiting)]
            ranked = self.rank(referral, top=1)["ranked"]
            if ranked:
                break
        else:
            return
        STEPS_RUN["place"] += 1
        response = self.post(
            "/api/placements", json={"referral": referral, "bedspace": ranked[0]["bedspace"]}
        )
        assert response.status_code == 201, response.text

    @rule(pick=st.integers(0, 10_000), choice=st.integers(0, 10_000))
    def override(self, pick: int, choice: int) -> None:
        waiting = self.waiting()
        if not waiting:
            return
        referral = waiting[pick % len(waiting)]
        result = self.rank(referral, top=1000)
        STEPS_RUN["override"] += 1
        excluded = [b for unit in result["excluded"] for b in unit["bedspaces"]]
        if excluded and choice % 2:  # an unsafe choice: refused, and nothing stored
            bed = excluded[choice % len(excluded)]
            before = self.get("/api/placements", limit=1000)
            self.reads.update(("referral", p["referral"]) for p in before)
            refused = self.post(
                "/api/placements",
                json={"referral": referral, "bedspace": bed, "reason": "family nearby"},
            )
            assert refused.status_code == 409, refused.text
            assert refused.json()["reasons"]
            after = self.get("/api/placements", limit=1000)
            self.reads.update(("referral", p["referral"]) for p in after)
            assert after == before
        elif result["ranked"]:
            bed = result["ranked"][choice % len(result["ranked"])]["bedspace"]
            placed = self.post(
                "/api/placements",
                json={"referral": referral, "bedspace": bed, "reason": "near her school"},
            )
            assert placed.status_code == 201, placed.text

    @rule(take_all=st.booleans(), pick=st.integers(0, 10_000))
    def batch_accept(self, take_all: bool, pick: int) -> None:
        if not self.waiting():
            return
        STEPS_RUN["batch_accept"] += 1
        started = self.post("/api/runs", json={"backend": "greedy", "time_limit_s": 5})
        assert started.status_code == 202, started.text
        deadline = time.monotonic() + 60
        while True:
            run = self.get(f"/api/runs/{started.json()['id']}")
            self.reads.update(("referral", r["referral"]) for r in run["results"])
            if run["status"] not in ("queued", "running"):
                break
            assert time.monotonic() < deadline, "the run did not finish"
            time.sleep(0.05)
        assert run["status"] == "done", run["message"]
        proposed = [r["referral"] for r in run["results"] if r["bedspace"]]
        if not proposed:
            return
        chosen = None if take_all else [proposed[pick % len(proposed)]]
        accepted = self.post(f"/api/runs/{run['id']}/accept", json={"referrals": chosen})
        assert accepted.status_code == 200, accepted.text
        assert sorted(accepted.json()["accepted"]) == sorted(chosen or proposed)

    @rule(pick=st.integers(0, 10_000), days=st.integers(-30, 60))
    def move_out(self, pick: int, days: int) -> None:
        present = self.present()
        if not present:
            return
        STEPS_RUN["move_out"] += 1
        resident = present[pick % len(present)]
        on = self.as_of + timedelta(days=days)
        response = self.post(f"/api/residents/{resident}/move-out", json={"on": on.isoformat()})
        # 422: before the recorded arrival date; 409: a move-out is already recorded.
        assert response.status_code in (200, 409, 422), response.text

    @rule(rows=st.lists(referral_fields, min_size=1, max_size=3), broken=st.booleans())
    def import_referrals(self, rows: list[dict[str, Any]], broken: bool) -> None:
        STEPS_RUN["import"] += 1
        items = [self.new_referral(data) for data in rows]
        if broken:  # one bad cell: the whole file is refused, with its row and field
            items[-1]["age"] = "not-an-age"
        lines = [",".join(items[0])]
        for item in items:
            cells = [";".join(v) if isinstance(v, list) else str(v) for v in item.values()]
            lines.append(",".join(cells))
        before = len(self.waiting())
        upload = {"file": ("referrals.csv", ("\n".join(lines) + "\n").encode(), "text/csv")}
        response = self.post("/api/import/referrals", files=upload)
        if broken:
            assert response.status_code == 422, response.text
            assert any(issue["loc"][0] == "rows" for issue in response.json()["detail"])
            assert len(self.waiting()) == before
        else:
            assert response.status_code in (200, 422), response.text
            if response.status_code == 200:
                assert len(self.waiting()) == before + len(rows)

    # --- invariants -----------------------------------------------------------------------

    def stored_state(self) -> tuple[Problem, Solution]:
        """The database as a problem: people the service placed come back as referrals,
        with every field they were referred with, and their beds as the solution."""
        with self.factory() as session:
            assembled = build_problem(session, self.as_of)
            present = {
                r.id: r
                for r in session.scalars(select(ResidentRow).where(ResidentRow.left_on.is_(None)))
            }
            placed_rows = session.scalars(
                select(ReferralRow).where(ReferralRow.id.in_(list(present)))
            ).all()
        placed = {row.id: Referral.model_validate(row, from_attributes=True) for row in placed_rows}
        people = set(present)
        newcomer_teams = Counter(present[p].support_team for p in placed if present[p].support_team)
        problem = assembled.model_copy(
            update={
                "residents": [r for r in assembled.residents if r.id not in placed],
                "referrals": [
                    r.model_copy(
                        update={
                            "keep_apart": [p for p in r.keep_apart if p in people],
                            "keep_together": [p for p in r.keep_together if p in placed],
                        }
                    )
                    for r in placed.values()
                ],
                "support_teams": [
                    t.model_copy(
                        update={"current_caseload": t.current_caseload - newcomer_teams[t.id]}
                    )
                    for t in assembled.support_teams
                ],
            }
        )
        solution = Solution(
            assignments=[
                Assignment(
                    referral=p, bedspace=present[p].bedspace, support_team=present[p].support_team
                )
                for p in sorted(placed)
            ]
        )
        return Problem.model_validate(problem.model_dump()), solution

    @invariant()
    def no_hard_rule_is_broken(self) -> None:
        problem, solution = self.stored_state()
        assert check(problem, solution) == []
        with self.factory() as session:
            now = {
                (v.rule, v.message) for v in resident_violations(build_problem(session, self.as_of))
            }
        assert now <= self.initial_violations

    @invariant()
    def one_person_per_bed_space_and_teams_within_capacity(self) -> None:
        with self.factory() as session:
            doubled = session.execute(
                select(ResidentRow.bedspace, func.count())
                .where(ResidentRow.left_on.is_(None))
                .group_by(ResidentRow.bedspace)
                .having(func.count() > 1)
            ).all()
            teams = session.scalars(select(SupportTeamRow)).all()
        assert doubled == []
        for team in teams:
            assert team.current_caseload <= max(
                team.caseload_capacity, self.initial_caseload[team.id]
            )

    @invariant()
    def every_personal_data_read_is_in_the_audit_trail(self) -> None:
        with self.factory() as session:
            logged = Counter(
                (row.subject_type, row.subject_id)
                for row in session.execute(
                    select(AuditEventRow.subject_type, AuditEventRow.subject_id).where(
                        AuditEventRow.action == "read"
                    )
                )
            )
        assert logged == self.reads


@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("machine") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    prepare_database(settings_for(f"sqlite:///{path}", **SMALL), engine)
    engine.dispose()
    return path


def test_random_sequences_of_service_actions_keep_every_rule(
    small_template: Path, tmp_path: Path
) -> None:
    ServiceMachine.template = small_template
    ServiceMachine.workdir = tmp_path
    STEPS_RUN.clear()
    bounded = settings(
        max_examples=15,
        stateful_step_count=20,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    # Hypothesis draws rules unevenly: with seeds 1-40, 15 sequences never placed anyone from
    # a ranking once (seed 17). More sequences are drawn until every action has run.
    for _ in range(3):
        run_state_machine_as_test(ServiceMachine, settings=bounded)
        if min(STEPS_RUN[name] for name in ACTIONS) > 0:
            break
    print(f"state machine: {dict(STEPS_RUN)}")
    assert STEPS_RUN["sequences"] >= 15
    assert sum(STEPS_RUN.values()) - STEPS_RUN["sequences"] >= 150
    assert min(STEPS_RUN[name] for name in ACTIONS) > 0, STEPS_RUN
