"""Departures are events: a resident past their expected leaving date with no move-out
recorded keeps their bed-space ("due to leave") until a coordinator, or the nightly rule an
admin turns on, records the move-out, with an audit event."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from api.orm import AuditEventRow, ResidentRow
from api.security import Role
from api.services import departures
from api.services.assemble import ServiceProblem, build_problem, keep_staying
from capacity.vacancies import bedspace_free_from
from constraints.tables import build_tables
from fixtures import generate
from matcher.model import Problem, Resident
from matcher.ranking import build_context, rank
from tests.api.conftest import Service
from tests.api.helpers import counts, factory
from tests.api.test_service import wait_for_run

C, H, A = Role.coordinator, Role.housing_options, Role.admin


def _due(service: Service) -> dict[str, ResidentRow]:
    """Bed-space -> its resident past the expected leaving date, no move-out recorded."""
    as_of = service.settings.placement_date()
    with factory(service.client)() as session:
        rows = session.scalars(select(ResidentRow).where(ResidentRow.left_on.is_(None))).all()
    due = {
        r.bedspace: r for r in rows if r.expected_leave is not None and r.expected_leave <= as_of
    }
    assert due, "the demo has residents past their expected leaving date"
    return due


def _as_the_command_line_reads_it(service: Service) -> Problem:
    """The stored state with every expected leaving date as stored: the problem document's
    rule (DESIGN.md) then counts a resident past it as gone."""
    as_of = service.settings.placement_date()
    with factory(service.client)() as session:
        problem = build_problem(session, as_of)
        rows = session.scalars(
            select(ResidentRow).where(ResidentRow.left_on.is_(None)).order_by(ResidentRow.id)
        ).all()
        residents = [Resident.model_validate(r, from_attributes=True) for r in rows]
    return Problem.model_validate({**problem.model_dump(), "residents": residents})


def _audit_events(service: Service, action: str) -> int:
    with factory(service.client)() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEventRow)
                .where(AuditEventRow.action == action)
            )
            or 0
        )


def test_placing_into_a_bed_space_due_to_leave_is_refused_and_nobody_is_moved_out(
    service: Service,
) -> None:
    client, coordinator = service.client, service.as_role(C)
    due = _due(service)
    # A placement the ranking would make if the resident's expected date freed the bed-space.
    context = build_context(_as_the_command_line_reads_it(service))
    referral, bedspace = next(
        (r.id, p.bedspace)
        for r in context.problem.referrals
        for p in rank(context, r.id, cost_top=0).ranked
        if p.bedspace in due and p.rank == 1 and not p.partners
    )
    before, move_outs = counts(client), _audit_events(service, "move_out")

    answer = client.post(
        "/api/placements", json={"referral": referral, "bedspace": bedspace}, headers=coordinator
    )

    assert answer.status_code == 409, answer.text
    assert "due to leave" in answer.json()["detail"] and bedspace in answer.json()["detail"]
    assert counts(client) == before
    resident = client.get(f"/api/residents/{due[bedspace].id}", headers=coordinator).json()
    assert resident["left_on"] is None
    assert _audit_events(service, "move_out") == move_outs
    assert client.get(f"/api/referrals/{referral}", headers=coordinator).json()["status"] == (
        "waiting"
    )


def test_a_recorded_move_out_frees_the_bed_space_due_to_leave(sqlite_service: Service) -> None:
    client, coordinator = sqlite_service.client, sqlite_service.as_role(C)
    due = _due(sqlite_service)
    bedspace, resident = sorted(due.items())[0]
    assert resident.expected_leave is not None
    moved = client.post(
        f"/api/residents/{resident.id}/move-out",
        json={"on": resident.expected_leave.isoformat()},
        headers=coordinator,
    )
    assert moved.status_code == 200, moved.text
    with factory(client)() as session:
        problem = build_problem(session, sqlite_service.settings.placement_date())
    assert bedspace_free_from(problem)[bedspace] is not None
    assert bedspace not in problem.due_to_leave  # type: ignore[attr-defined]


def test_ranking_and_batch_runs_never_propose_a_bed_space_due_to_leave(
    sqlite_service: Service,
) -> None:
    client, coordinator = sqlite_service.client, sqlite_service.as_role(C)
    due = set(_due(sqlite_service))
    read_as_gone = build_context(_as_the_command_line_reads_it(sqlite_service))
    assert any(
        p.bedspace in due
        for r in read_as_gone.problem.referrals
        for p in rank(read_as_gone, r.id, cost_top=0).ranked
    ), "some bed-space due to leave would be proposed if its resident counted as gone"

    waiting = client.get("/api/referrals?status=waiting&limit=500", headers=coordinator).json()
    for referral in waiting:
        answer = client.get(
            f"/api/referrals/{referral['id']}/rank",
            params={"top": 1000, "detail": "summary"},
            headers=coordinator,
        )
        assert answer.status_code == 200, answer.text
        proposed = {p["bedspace"] for p in answer.json()["ranked"]}
        proposed |= {q["bedspace"] for p in answer.json()["ranked"] for q in p["partners"]}
        assert not proposed & due, referral["id"]

    started = client.post(
        "/api/runs", json={"backend": "greedy", "time_limit_s": 5}, headers=coordinator
    )
    run = wait_for_run(sqlite_service, started.json()["id"])
    assert run["status"] == "done", run["message"]
    assert [r for r in run["results"] if r["bedspace"]], "the run places someone"
    assert not {r["bedspace"] for r in run["results"]} & due


def test_the_board_and_its_exports_show_bed_spaces_due_to_leave(service: Service) -> None:
    client, housing = service.client, service.as_role(H)
    due = _due(service)
    board = client.get("/api/vacancies", headers=housing).json()
    assert board["totals"]["due_to_leave"] == len(due)
    assert sum(u["due_to_leave"] for u in board["units"]) == len(due)

    exported = client.get("/api/vacancies/export?format=csv", headers=housing)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert sum(int(row["due_to_leave"]) for row in rows) == len(due)

    moves = client.get("/api/move-outs", headers=housing).json()
    shown = {m["bedspace"]: m for m in moves if m["due_to_leave"]}
    assert set(shown) == set(due)
    for bedspace, move in shown.items():
        assert set(move) == {"bedspace", "unit", "expected_leave", "due_to_leave"}
        assert move["expected_leave"] == str(due[bedspace].expected_leave)
    names = {r.id for r in due.values()}
    assert not any(name in exported.text for name in names)

    token = housing["Authorization"].split()[1]
    page = client.get("/vacancies", cookies={"bedmatch_token": token})
    assert page.status_code == 200
    assert f"{len(due)} due to leave" in page.text
    assert "due to leave: no move-out recorded" in page.text
    assert not any(f">{name}<" in page.text for name in names)


def test_the_nightly_rule_when_off_does_nothing(service: Service) -> None:
    due = _due(service)
    before = _audit_events(service, "move_out")
    with factory(service.client)() as session:
        assert departures.record_due_move_outs(session, service.settings.placement_date()) == []
    assert _due(service) == due or set(_due(service)) == set(due)
    assert _audit_events(service, "move_out") == before


def test_the_nightly_rule_when_on_records_each_move_out_with_an_audit_event(
    service: Service,
) -> None:
    client, admin = service.client, service.as_role(A)
    due = _due(service)
    assert (
        client.put(
            "/api/settings/nightly-move-outs", json={"on": True}, headers=service.as_role(C)
        ).status_code
        == 403
    )
    switched = client.put("/api/settings/nightly-move-outs", json={"on": True}, headers=admin)
    assert switched.status_code == 200 and switched.json() == {"on": True}
    setting = client.get(
        f"/api/audit?subject_id={departures.service_settings.NIGHTLY_MOVE_OUTS}", headers=admin
    ).json()
    assert [(e["action"], e["detail"]) for e in setting] == [("setting", "off -> on")]

    with factory(client)() as session:
        moved = departures.record_due_move_outs(session, service.settings.placement_date())
    assert sorted(moved) == sorted(r.id for r in due.values())
    for resident in due.values():
        view = client.get(f"/api/residents/{resident.id}", headers=service.as_role(C)).json()
        assert view["left_on"] == str(resident.expected_leave)
        events = client.get(f"/api/audit?subject_id={resident.id}", headers=admin).json()
        assert [e["username"] for e in events if e["action"] == "move_out"] == [
            departures.NIGHTLY_RULE.username
        ]
    board = client.get("/api/vacancies", headers=service.as_role(H)).json()
    assert board["totals"]["due_to_leave"] == 0
    with factory(client)() as session:  # run again: nothing left to do
        assert departures.record_due_move_outs(session, service.settings.placement_date()) == []


def test_an_admin_turns_the_nightly_rule_on_and_off_from_the_settings_page(
    sqlite_service: Service,
) -> None:
    client = sqlite_service.client
    token = sqlite_service.as_role(A)["Authorization"].split()[1]
    cookies = {"bedmatch_token": token}
    page = client.get("/admin/settings", cookies=cookies)
    assert page.status_code == 200 and 'id="nightly-state">off<' in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    client.post(
        "/admin/settings/nightly-move-outs",
        data={"on": "on", "csrf_token": csrf},
        cookies=cookies,
        follow_redirects=False,
    )
    assert client.get("/api/settings/nightly-move-outs", headers=sqlite_service.as_role(A)).json()[
        "on"
    ]
    refused = client.post(
        "/admin/settings/nightly-move-outs",
        data={"on": "off", "csrf_token": "forged"},
        cookies=cookies,
        follow_redirects=False,
    )
    assert refused.status_code == 400
    coordinator = sqlite_service.as_role(C)["Authorization"].split()[1]
    assert client.get("/admin/settings", cookies={"bedmatch_token": coordinator}).status_code in (
        303,
        403,
    )


def test_the_nightly_rule_runs_at_two_in_the_morning() -> None:
    from datetime import datetime

    assert departures.seconds_to_next_run(datetime(2026, 1, 1, 1, 0)) == 3600
    assert departures.seconds_to_next_run(datetime(2026, 1, 1, 2, 0)) == 24 * 3600
    assert departures.seconds_to_next_run(datetime(2026, 1, 1, 23, 0)) == 3 * 3600


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    leave_in=st.lists(st.one_of(st.none(), st.integers(-40, 40)), min_size=1, max_size=40),
    as_of_shift=st.integers(-20, 20),
)
def test_no_free_bed_space_in_the_services_problem_holds_a_resident(
    leave_in: list[int | None], as_of_shift: int
) -> None:
    """Whatever the residents' expected leaving dates against `as_of`, a resident with no
    move-out recorded holds their bed-space: neither the board nor the ranking's tables
    count it free, and it is due to leave exactly when its date has passed."""
    base = generate(5, 10, 40)
    as_of = base.as_of + timedelta(days=as_of_shift)
    residents = [
        r.model_copy(
            update={
                "expected_leave": None
                if leave_in[i % len(leave_in)] is None
                else base.as_of + timedelta(days=leave_in[i % len(leave_in)])  # type: ignore[operator]
            }
        )
        for i, r in enumerate(base.residents)
    ]
    staying, due = keep_staying(residents, as_of)
    problem = ServiceProblem.model_validate(
        {**base.model_dump(), "as_of": as_of, "residents": staying, "due_to_leave": due}
    )
    held = {r.bedspace for r in residents}
    free_from = bedspace_free_from(problem)
    tables = build_tables(problem)
    for bed in held:
        assert free_from[bed] is None or free_from[bed] > as_of, bed
        assert not tables.beds.free[tables.beds.index[bed]], bed
    assert set(due) == {
        r.bedspace for r in residents if r.expected_leave is not None and r.expected_leave <= as_of
    }
    assert all(isinstance(d, date) and d <= as_of for d in due.values())


def test_the_service_runs_the_nightly_rule_when_it_starts(sqlite_url: str) -> None:
    """Turned on, the rule runs as the service starts (then nightly): no move-out waits for
    the first night after a restart."""
    import time

    from tests.api.conftest import start_service

    for service in start_service(sqlite_url):
        due = _due(service)
        switched = service.client.put(
            "/api/settings/nightly-move-outs", json={"on": True}, headers=service.as_role(A)
        )
        assert switched.status_code == 200
    for service in start_service(sqlite_url):  # a restart
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _audit_events(service, "move_out") < len(due):
            time.sleep(0.1)
        assert _audit_events(service, "move_out") == len(due)
        with factory(service.client)() as session:
            left = {
                r.id: r.left_on
                for r in session.scalars(
                    select(ResidentRow).where(ResidentRow.left_on.is_not(None))
                )
            }
        assert all(left[r.id] == r.expected_leave for r in due.values())
