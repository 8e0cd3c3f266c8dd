"""Scenarios in the service: made from the live portfolio, refused when unsafe, run in the
background, reproduced by a re-run, compared and downloaded. Simulations are tiny (30-60
days, 2 replications) so the tests stay fast."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cli import main
from api.commands.serve import URL_VARIABLES
from api.db import make_engine
from api.orm import BedSpaceRow, ResidentRow, ScenarioRow, UnitRow
from api.security import Role
from tests.api.conftest import Service, start_service

TINY = {"horizon_days": 40, "replications": 2, "seed": 7}


def make(service: Service, name: str = "base", plan: dict[str, Any] | None = None) -> int:
    response = service.client.post(
        "/api/scenarios",
        json={"name": name, "plan": {**TINY, **(plan or {})}},
        headers=service.as_role(Role.commissioner),
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def run(service: Service, scenario_id: int, role: Role = Role.commissioner) -> dict[str, Any]:
    headers = service.as_role(role)
    started = service.client.post(f"/api/scenarios/{scenario_id}/run", headers=headers)
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "queued"  # the answer comes at once, not the figures
    deadline = time.monotonic() + 60
    while True:
        view = service.client.get(f"/api/scenarios/{scenario_id}", headers=headers).json()
        if view["status"] not in ("queued", "running"):
            break
        assert time.monotonic() < deadline, view
        time.sleep(0.1)
    assert view["status"] == "done", view["message"]
    return dict(view)


def units_where(service: Service, **equal: Any) -> list[UnitRow]:
    with service.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        query = select(UnitRow).order_by(UnitRow.id)
        for name, value in equal.items():
            query = query.where(getattr(UnitRow, name) == value)
        return list(session.scalars(query))


def change(service: Service, scenario_id: int, plan: dict[str, Any]) -> Any:
    return service.client.patch(
        f"/api/scenarios/{scenario_id}",
        json={"plan": {**TINY, **plan}},
        headers=service.as_role(Role.commissioner),
    )


def test_a_rerun_gives_the_same_figures_and_records_who_ran_it_and_the_seed(
    service: Service,
) -> None:
    scenario = make(
        service,
        plan={
            "demand_scale": {"women": 1.5},
            "housing_first_places": 2,
            "pathway_mix": {"emergency": 0.5, "recovery": 0.4, "housing_first": 0.1},
        },
    )
    first = run(service, scenario)
    assert first["ran_by"] == "commissioner" and first["seed"] == 7
    assert first["figures"]["replications"] == 2
    everyone = first["figures"]["cohorts"]["all"]
    assert everyone["arrivals"]["mean"] > 0
    again = run(service, scenario, Role.admin)
    assert again["ran_by"] == "admin"
    assert again["figures"] == first["figures"]


def test_the_live_data_changing_later_leaves_a_scenario_as_it_was_made(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    scenario = make(service)
    first = run(service, scenario)
    unit = units_where(service)[0]
    coordinator = service.as_role(Role.coordinator)
    added = service.client.post(
        "/api/bedspaces", json={"id": "BLATER", "unit": unit.id}, headers=coordinator
    )
    assert added.status_code == 201, added.text
    assert run(service, scenario)["figures"] == first["figures"]


def test_a_refuge_turned_mixed_is_refused_with_the_rule(sqlite_service: Service) -> None:
    service = sqlite_service
    scenario = make(service)
    refuge = units_where(service, kind="refuge")[0]
    refused = change(service, scenario, {"units": {refuge.id: {"gender_policy": "mixed"}}})
    assert refused.status_code == 422
    (issue,) = refused.json()["detail"]
    assert issue["loc"] == ["body", "plan", "units", refuge.id]
    assert "refuge" in issue["msg"]
    kept = service.client.get(
        f"/api/scenarios/{scenario}", headers=service.as_role(Role.commissioner)
    )
    assert kept.json()["plan"] == TINY


def test_a_unit_turned_women_only_around_a_man_is_refused_with_the_rule(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    with service.client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        man = session.scalars(
            select(ResidentRow)
            .where(ResidentRow.gender == "man", ResidentRow.left_on.is_(None))
            .order_by(ResidentRow.id)
        ).first()
        assert man is not None
        unit_id = session.get(BedSpaceRow, man.bedspace).unit  # type: ignore[union-attr]
    unit = next(u for u in units_where(service) if u.id == unit_id)
    assert unit.kind not in ("refuge", "women_only")
    redesignation = {"gender_policy": "women_only", "kind": "women_only"}
    refused = service.client.post(
        "/api/scenarios",
        json={"name": "unsafe", "plan": {**TINY, "units": {unit_id: redesignation}}},
        headers=service.as_role(Role.commissioner),
    )
    assert refused.status_code == 422, refused.text
    messages = [d["msg"] for d in refused.json()["detail"]]
    assert any("women" in m and f"bed-space {man.bedspace}" in m for m in messages), messages
    assert all(d["loc"] == ["body", "plan", "units", unit_id] for d in refused.json()["detail"])
    # No person is named: a commissioner sees no personal data.
    assert man.id not in refused.text
    listed = service.client.get("/api/scenarios", headers=service.as_role(Role.commissioner))
    assert listed.json() == []


@pytest.mark.parametrize(
    ("plan", "loc"),
    [
        ({"demand_scale": {"elves": 2}}, ["body", "plan", "demand_scale", "elves"]),
        ({"demand_scale": {"women": 11}}, ["body", "plan", "demand_scale", "women"]),
        ({"demand_scale": {"women": -1}}, ["body", "plan", "demand_scale", "women"]),
        ({"horizon_days": 3}, ["body", "plan", "horizon_days"]),
        ({"replications": 0}, ["body", "plan", "replications"]),
        ({"warmup_days": 40}, ["body", "plan", "warmup_days"]),
        ({"units": {"NOPE": {"pathway": "recovery"}}}, ["body", "plan", "units", "NOPE"]),
        ({"add_bedspaces": {"U0001": 0}}, ["body", "plan", "add_bedspaces", "U0001"]),
        ({"women_only_reserve": -2}, ["body", "plan", "women_only_reserve"]),
        ({"women_only_share": 1.2}, ["body", "plan", "women_only_share"]),
        (
            {"new_teams": [{"kind": "navigator", "area": "Atlantis", "caseload_capacity": 5}]},
            ["body", "plan", "new_teams", 0, "area"],
        ),
        ({"pathway_share": 0.5}, ["body", "plan", "pathway_share"]),
        ({"pathway_mix": {"emergency": 1.5}}, ["body", "plan", "pathway_mix", "emergency"]),
        ({"pathway_mix": {"emergency": 0.5}}, ["body", "plan", "pathway_mix"]),
        ({"pathway_mix": {"hostel": 1.0}}, ["body", "plan", "pathway_mix", "hostel"]),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    sqlite_service: Service, plan: dict[str, Any], loc: list[Any]
) -> None:
    service = sqlite_service
    response = service.client.post(
        "/api/scenarios",
        json={"name": "bad", "plan": {**TINY, **plan}},
        headers=service.as_role(Role.commissioner),
    )
    assert response.status_code == 422, response.text
    assert loc in [d["loc"] for d in response.json()["detail"]], response.json()


def test_compare_and_download_side_by_side(sqlite_service: Service) -> None:
    service = sqlite_service
    headers = service.as_role(Role.commissioner)
    base = make(service, "base")
    more_women = make(service, "more women", {"demand_scale": {"women": 2}})
    for scenario in (base, more_women):
        run(service, scenario)
    query = f"ids={base}&ids={more_women}"
    markdown = service.client.get(f"/api/scenarios/report?{query}&format=md", headers=headers)
    assert markdown.status_code == 200
    assert "data:image/png;base64," in markdown.text
    assert f"{base}. base" in markdown.text and f"{more_women}. more women" in markdown.text
    page = service.client.get(f"/api/scenarios/report?{query}&format=html", headers=headers)
    assert page.text.count("<img") == 6 and "Kaplan" in page.text
    sheet = service.client.get(f"/api/scenarios/report?{query}&format=csv", headers=headers)
    lines = sheet.text.splitlines()
    assert lines[0] == "scenario,cohort,figure,mean,low,high,replications"
    assert any(line.startswith(f"{more_women}. more women,Women,arrivals,") for line in lines)
    book = service.client.get(f"/api/scenarios/report?{query}&format=xlsx", headers=headers)
    assert book.content[:2] == b"PK"
    plot = service.client.get(f"/api/scenarios/plots/wait_p50_days?{query}", headers=headers)
    assert plot.headers["content-type"] == "image/png" and plot.content[:4] == b"\x89PNG"
    assert (
        service.client.get("/api/scenarios/plots/pie?" + query, headers=headers).status_code == 422
    )
    five = "&".join(f"ids={i}" for i in range(1, 6))
    assert service.client.get(f"/api/scenarios/report?{five}", headers=headers).status_code == 422
    unrun = make(service, "not run")
    not_yet = service.client.get(f"/api/scenarios/report?ids={unrun}", headers=headers)
    assert not_yet.status_code == 422
    assert not_yet.json()["detail"][0] == {
        "loc": ["query", "ids", 0],
        "msg": f"scenario {unrun} has no figures yet: run it first",
        "type": "value_error",
    }
    unknown = service.client.get("/api/scenarios/report?ids=999", headers=headers)
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["msg"] == "no scenario 999"


def test_changing_the_plan_clears_the_figures_it_no_longer_describes(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    scenario = make(service)
    run(service, scenario)
    changed = change(service, scenario, {"women_only_reserve": 2})
    assert changed.status_code == 200, changed.text
    assert changed.json()["figures"] is None and changed.json()["status"] == "draft"


def test_a_run_under_way_when_the_service_stops_is_stored_as_interrupted(sqlite_url: str) -> None:
    for service in start_service(sqlite_url):
        scenario = make(service, "long", {"horizon_days": 365, "replications": 100})
        started = service.client.post(
            f"/api/scenarios/{scenario}/run", headers=service.as_role(Role.commissioner)
        )
        assert started.status_code == 202
        stopped_at = time.monotonic()
    # Leaving the service stopped it: the run ended at its next replication, not its hundredth.
    assert time.monotonic() - stopped_at < 30
    engine = make_engine(sqlite_url)
    with Session(engine) as session:
        row = session.get(ScenarioRow, scenario)
        assert row is not None
        assert row.status == "failed" and row.message.startswith("interrupted")
        assert row.figures is None
    engine.dispose()


def test_a_dask_cluster_by_address_gives_the_figures_local_runs_give(sqlite_url: str) -> None:
    from distributed import LocalCluster

    for service in start_service(sqlite_url):
        scenario = make(service)
        local = run(service, scenario)["figures"]
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        for service in start_service(sqlite_url, dask_scheduler=cluster.scheduler_address):
            assert run(service, scenario)["figures"] == local


def page_cookie(service: Service, role: Role) -> dict[str, str]:
    return {"Cookie": "bedmatch_token=" + service.as_role(role)["Authorization"].split()[1]}


def test_the_scenario_page_names_a_refuge_only_to_those_who_may_see_it(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    scenario = make(service)
    refuges = units_where(service, kind="refuge")
    commissioner = service.client.get(
        f"/scenarios/{scenario}", headers=page_cookie(service, Role.commissioner)
    )
    assert commissioner.status_code == 200
    admin = service.client.get(f"/scenarios/{scenario}", headers=page_cookie(service, Role.admin))
    for refuge in refuges:
        assert f"{refuge.id} · confidential address (refuge)" in commissioner.text
        assert refuge.name not in commissioner.text
        assert refuge.address and refuge.address not in commissioner.text
        assert refuge.name in admin.text


def test_comparing_more_than_four_says_why_on_the_page(sqlite_service: Service) -> None:
    service = sqlite_service
    five = "&".join(f"ids={i}" for i in range(1, 6))
    page = service.client.get(
        f"/scenarios/compare?{five}", headers=page_cookie(service, Role.commissioner)
    )
    assert page.status_code == 422
    assert "Cannot compare: compare at most 4 scenarios" in page.text


def test_bed_spaces_added_to_a_unit_with_the_longest_id_are_stored_safely(
    sqlite_service: Service,
) -> None:
    service = sqlite_service
    long_id = "U" * 64
    staff = service.as_role(Role.coordinator)
    unit = service.client.get("/api/units/U0002", headers=staff).json()
    created = service.client.post("/api/units", json={**unit, "id": long_id}, headers=staff)
    assert created.status_code == 201, created.text
    scenario = make(service, plan={"add_bedspaces": {long_id: 3}})
    view = run(service, scenario)
    assert view["figures"]["bedspaces"] == 123


def test_a_women_only_share_turns_mixed_units_up_to_what_moves_nobody(
    sqlite_service: Service,
) -> None:
    """The issue's "what if 35% of beds were women-only?" on the live portfolio: mixed units
    are turned women-only, none where a man or non-binary person lives (a plan moves nobody).
    A share out of reach is refused saying the most that can be reached, and that share runs."""
    service = sqlite_service
    refused = service.client.post(
        "/api/scenarios",
        json={"name": "all women", "plan": {**TINY, "women_only_share": 1.0}},
        headers=service.as_role(Role.commissioner),
    )
    assert refused.status_code == 422, refused.text
    (issue,) = refused.json()["detail"]
    assert issue["loc"] == ["body", "plan", "women_only_share"]
    assert "without moving anyone" in issue["msg"]
    found = re.search(r"at most (\d+) of (\d+) bed-spaces", issue["msg"])
    assert found is not None, issue["msg"]
    reachable = int(found[1]) / int(found[2])
    listed = service.client.get("/api/scenarios", headers=service.as_role(Role.commissioner))
    assert listed.json() == []
    scenario = make(service, "most women-only", {"women_only_share": reachable})
    view = run(service, scenario)
    assert view["figures"]["women_only_share"] >= reachable - 1e-9
    page = service.client.get(f"/scenarios/{scenario}", headers=service.as_role(Role.commissioner))
    assert f"until {reachable:.0%} of bed-spaces are" in page.text


def test_a_stored_scenario_run_from_the_command_line_gives_the_services_figures(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bedmatch simulate --stored ID`: the same snapshot, plan and seed, the same figures,
    and the database left as it was; an unknown number or a missing database is exit 2."""
    for service in start_service(sqlite_url):
        scenario = make(service, "base")
        served = run(service, scenario)["figures"]
    capsys.readouterr()
    args = ["simulate", "--stored", str(scenario), "--database-url", sqlite_url]
    assert main([*args, "--workers", "1", "--no-progress"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["scenario"] == scenario and printed["replication_seconds"] > 0
    assert printed["figures"] == served
    assert main(["simulate", "--stored", "999", "--database-url", sqlite_url]) == 2
    assert "no scenario 999" in capsys.readouterr().err
    for variable in URL_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    assert main(["simulate", "--stored", "1"]) == 2
    assert "--database-url" in capsys.readouterr().err
