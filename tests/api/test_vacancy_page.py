"""The vacancy board's page: its filters in a form, areas by name, codes in words, refuges
kept hidden from roles that may not see them, and downloads filtered as the board is."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

import pytest

from api.security import Role
from tests.api.conftest import Service

CODES = ("adult_mixed", "women_only", "men_only", "young_persons", "24_7", "very_high")


def _areas(service: Service) -> dict[str, str]:
    answer = service.client.get("/api/areas", headers=service.as_role(Role.coordinator))
    return {a["id"]: a["name"] for a in answer.json()}


def _refuges(service: Service) -> list[dict[str, str]]:
    board = service.client.get("/api/vacancies", headers=service.as_role(Role.coordinator))
    return [u for u in board.json()["units"] if u["confidential"]]


def _rows(page: str) -> list[str]:
    table = page[page.index('id="vacancies"') : page.index("</table>")]
    return [unescape(re.sub(r"<[^>]+>", " ", row)) for row in table.split("<tr>")[2:]]


@pytest.mark.parametrize("role", [Role.housing_options, Role.coordinator, Role.commissioner])
def test_the_board_shows_areas_by_name_and_no_codes(sqlite_service: Service, role: Role) -> None:
    service = sqlite_service
    page = service.client.get("/vacancies", headers=service.as_role(role))
    assert page.status_code == 200
    rows = _rows(page.text)
    assert rows
    areas = _areas(service)
    for row in rows:
        assert not re.search(r"\bA\d\d\b", row), row
        assert not any(code in row for code in CODES), row
    assert any(name in " ".join(rows) for name in areas.values())
    for name in areas.values():
        assert f'<option value="{name}"' in page.text


def test_an_area_filter_by_name_is_the_api_filter_by_id(sqlite_service: Service) -> None:
    service = sqlite_service
    housing = service.as_role(Role.housing_options)
    area, name = sorted(_areas(service).items())[2]
    by_id = service.client.get("/api/vacancies", params={"area": area}, headers=housing).json()
    by_name = service.client.get(
        "/api/vacancies", params={"area": name.upper()}, headers=housing
    ).json()
    assert by_id["units"] and by_name["units"] == by_id["units"]
    page = service.client.get("/vacancies", params={"area": name}, headers=housing)
    assert len(_rows(page.text)) == len(by_id["units"])
    assert f"{by_id['totals']['free_now']} free now" in page.text


@pytest.mark.parametrize("role", [Role.housing_options, Role.commissioner])
def test_an_area_filter_never_reveals_a_refuge(sqlite_service: Service, role: Role) -> None:
    service = sqlite_service
    refuges = _refuges(service)
    assert refuges, "the demo portfolio has a refuge"
    areas = _areas(service)
    for refuge in refuges:
        name = areas[refuge["area"]]
        for given in (refuge["area"], name):
            page = service.client.get(
                "/vacancies", params={"area": given}, headers=service.as_role(role)
            )
            assert page.status_code == 200
            board = " ".join(_rows(page.text))
            assert "Confidential address" not in board and refuge["unit"] not in board
            assert refuge["name"] not in page.text
            sheet = service.client.get(
                "/api/vacancies/export",
                params={"area": given, "format": "csv"},
                headers=service.as_role(role),
            )
            assert refuge["unit"] not in sheet.text


def test_coordinators_find_a_refuge_by_its_area(sqlite_service: Service) -> None:
    service = sqlite_service
    [refuge, *_] = _refuges(service)
    name = _areas(service)[refuge["area"]]
    page = service.client.get(
        "/vacancies",
        params={"area": name, "kind": "refuge"},
        headers=service.as_role(Role.coordinator),
    )
    rows = _rows(page.text)
    assert any(refuge["name"] in row and name in row and "Refuge" in row for row in rows)


def test_each_filter_bites_and_the_downloads_carry_them(sqlite_service: Service) -> None:
    service = sqlite_service
    housing = service.as_role(Role.housing_options)
    everything = service.client.get("/api/vacancies", headers=housing).json()["units"]
    for given, keeps in (
        ({"gender_policy": "women_only"}, lambda u: u["gender_policy"] == "women_only"),
        ({"staffing": "24_7"}, lambda u: u["staffing"] == "24_7"),
        ({"kind": "young_persons"}, lambda u: u["kind"] == "young_persons"),
        ({"risk": "very_high"}, lambda u: u["max_risk"] == "very_high"),
        ({"age": "17"}, lambda u: u["under_18_approved"]),
    ):
        expected = [u for u in everything if keeps(u)]
        assert 0 < len(expected) < len(everything), given
        page = service.client.get("/vacancies", params=given, headers=housing)
        assert page.status_code == 200
        assert len(_rows(page.text)) == len(expected), given
        link = re.search(r'href="(/api/vacancies/export\?format=csv[^"]*)"', page.text)
        assert link is not None
        sheet = service.client.get(unescape(link.group(1)), headers=housing)
        shown = list(csv.DictReader(io.StringIO(sheet.text)))
        assert [row["unit"] for row in shown] == [u["unit"] for u in expected], given


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"age": "abc"}, "Takes someone aged"),
        ({"age": "9"}, "Takes someone aged"),
        ({"kind": "castle"}, "Kind of unit"),
        ({"area": "Atlantis"}, "Area"),
    ],
)
def test_a_bad_filter_is_named_on_the_page(
    sqlite_service: Service, given: dict[str, str], field: str
) -> None:
    page = sqlite_service.client.get(
        "/vacancies", params=given, headers=sqlite_service.as_role(Role.housing_options)
    )
    assert page.status_code == 422
    errors = page.text[page.text.index('id="filter-errors"') :]
    assert errors.split("</ul>")[0].count("<li>") == 1 and f"{field}:" in errors
