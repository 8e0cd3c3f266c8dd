"""A batch run re-solved with a cohort floor: a new run whose proposals meet the floor, with
the same data solved without it beside them, and the floor's price on the run page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from api.db import make_engine
from api.migrations import downgrade, upgrade
from api.orm import AllocationRunRow
from api.security import Role
from api.services.floor_price import view
from tests.api.conftest import Service
from tests.api.test_service import wait_for_run

C = Role.coordinator


def finished_run(service: Service, backend: str = "cpsat") -> dict[str, Any]:
    run = service.client.post(
        "/api/runs", json={"backend": backend, "time_limit_s": 5}, headers=service.as_role(C)
    )
    assert run.status_code == 202, run.text
    return wait_for_run(service, run.json()["id"])


def floor_run(service: Service, run_id: int, **floor: Any) -> dict[str, Any]:
    started = service.client.post(
        f"/api/runs/{run_id}/floor", json=floor, headers=service.as_role(C)
    )
    assert started.status_code == 202, started.text
    assert started.json()["base_run_id"] == run_id
    return wait_for_run(service, started.json()["id"], timeout_s=60)


def women_placed(service: Service, run: dict[str, Any]) -> tuple[int, int, int, int]:
    rows = {row["cohort"]: row for row in run["equity"]}
    return (
        rows["women"]["placed"],
        rows["women"]["waiting"],
        rows["all"]["placed"],
        rows["all"]["waiting"],
    )


def test_a_run_re_solved_with_a_floor_meets_it_and_shows_its_price(
    sqlite_service: Service,
) -> None:
    base = finished_run(sqlite_service)
    floored = floor_run(sqlite_service, base["id"], cohort="women", at_least="list_rate")
    assert floored["status"] == "done", floored["message"]
    assert floored["floor"] == {"cohort": "women", "at_least": "list_rate"}
    women, waiting, everyone, all_waiting = women_placed(sqlite_service, floored)
    assert women * all_waiting >= everyone * waiting
    price = floored["price"]
    assert price["floor"]["met"] and price["floor"]["reachable"] is True
    for side in ("without", "with"):
        assert set(price[side]["placed_by_priority"]) == {"1", "2", "3", "4", "5"}
        assert price[side]["soft_bound"] >= price[side]["soft_points"]
    shown = view(price)
    assert shown is not None and shown.sentence.startswith("A floor for women")

    client = sqlite_service.client
    client.cookies.set("bedmatch_token", sqlite_service.as_role(C)["Authorization"].split()[1])
    page = client.get(f"/runs/{floored['id']}")
    assert page.status_code == 200
    assert 'id="price"' in page.text and "A floor for women" in page.text
    assert f'href="/runs/{base["id"]}"' in page.text


def test_a_floor_out_of_reach_is_a_result_not_an_error(sqlite_service: Service) -> None:
    base = finished_run(sqlite_service, "greedy")
    floored = floor_run(sqlite_service, base["id"], cohort="under_18s", at_least=1.0)
    assert floored["status"] == "done", floored["message"]
    report = floored["price"]["floor"]
    if not report["met"]:
        assert report["reachable"] is not True
        assert report["best_placed"] <= report["placed"]
        assert "can be placed" in report["sentence"] or "Not reached" in report["sentence"]


@pytest.mark.parametrize(
    ("floor", "field"),
    [
        ({"cohort": "pensioners", "at_least": "list_rate"}, "cohort"),
        ({"cohort": "women", "at_least": 1.5}, "at_least"),
        ({"cohort": "women", "at_least": "most"}, "at_least"),
        ({"cohort": "women"}, "at_least"),
    ],
)
def test_a_bad_floor_is_a_422_naming_the_field(
    sqlite_service: Service, floor: dict[str, Any], field: str
) -> None:
    answer = sqlite_service.client.post(
        "/api/runs/1/floor", json=floor, headers=sqlite_service.as_role(C)
    )
    assert answer.status_code == 422, answer.text
    assert [d["loc"][-1] for d in answer.json()["detail"]] == [field]


def test_a_floor_on_a_run_that_does_not_exist_is_a_404(sqlite_service: Service) -> None:
    answer = sqlite_service.client.post(
        "/api/runs/999/floor",
        json={"cohort": "women", "at_least": 0.5},
        headers=sqlite_service.as_role(C),
    )
    assert answer.status_code == 404, answer.text


def test_the_page_form_refuses_a_share_above_100_percent_naming_it(
    sqlite_service: Service,
) -> None:
    base = finished_run(sqlite_service, "greedy")
    client = sqlite_service.client
    client.cookies.set("bedmatch_token", sqlite_service.as_role(C)["Authorization"].split()[1])
    page = client.get(f"/runs/{base['id']}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None and 'id="floor-form"' in page.text
    refused = client.post(
        f"/runs/{base['id']}/floor",
        data={
            "csrf_token": token.group(1),
            "cohort": "women",
            "at_least": "share",
            "percent": "150",
        },
        follow_redirects=False,
    )
    assert refused.status_code == 422
    assert "at_least: a share must be from 0 to 1" in refused.text
    started = client.post(
        f"/runs/{base['id']}/floor",
        data={
            "csrf_token": token.group(1),
            "cohort": "women",
            "at_least": "share",
            "percent": "40",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303
    new_id = int(started.headers["location"].rsplit("/", 1)[1])
    done = wait_for_run(sqlite_service, new_id, timeout_s=60)
    assert done["floor"] == {"cohort": "women", "at_least": 0.4}


def test_migration_0008_adds_the_floor_columns_and_takes_them_away(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'floors.db'}")
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("allocation_runs")}
    assert columns == {c.name for c in AllocationRunRow.__table__.columns}
    downgrade(engine, "0007")
    columns = {c["name"] for c in inspect(engine).get_columns("allocation_runs")}
    assert not columns & {"base_run_id", "floor", "price"}
    upgrade(engine)
    engine.dispose()


def solve_summary(bands: dict[str, int], points: float, **more: Any) -> dict[str, Any]:
    return {
        "status": "optimal",
        "placed_by_priority": bands,
        "placed_bound_by_priority": bands,
        "soft_points": points,
        "soft_bound": points,
        "gap": 0.0,
        **more,
    }


def test_the_price_reads_as_a_commissioner_would_say_it() -> None:
    floor = {"cohort": "women", "at_least": "list_rate", "waiting": 10, "sentence": "..."}
    without = {"5": 3, "4": 2, "3": 6, "2": 1, "1": 0}
    price = {
        "without": solve_summary(without, 120, cohort_placed=2, floor_met=False),
        "with": solve_summary({**without, "3": 4, "1": 1}, 106, cohort_placed=4),
        "floor": floor,
    }
    shown = view(price)
    assert shown is not None
    assert shown.sentence == (
        "A floor for women (at least the whole list's placement rate) costs 2 placements in "
        "band 3 and 14 points of fit, for 1 more in band 1. It places 4 of the 10 people in "
        "this group, against 2 without it."
    )
    assert [b.lost for b in shown.bands] == [0, 0, 2, 0, -1]
    assert shown.proofs[1].startswith("With the floor: proven best")


def test_a_floor_already_met_costs_nothing() -> None:
    bands = {"5": 1, "4": 0, "3": 0, "2": 0, "1": 2}
    price = {
        "without": solve_summary(bands, 50, cohort_placed=2, floor_met=True),
        "with": solve_summary(bands, 50, cohort_placed=2),
        "floor": {"cohort": "high_risk", "at_least": 0.4, "waiting": 4},
    }
    shown = view(price)
    assert shown is not None
    assert shown.sentence.startswith(
        "A floor for high risk or MAPPA (at least 40% placed) costs nothing here: the "
        "allocation without it already meets it."
    )
    assert view(None) is None
