"""Spreadsheet exports: the same rows the role sees on screen, refuges hidden alike, in CSV
and XLSX, with cells a spreadsheet would run as formulas made inert."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from api.security import Role
from api.services.exports import cell
from tests.api.conftest import Service
from tests.api.test_access import confidential_units


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def _xlsx_rows(body: bytes) -> list[dict[str, str]]:
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    assert sheet is not None
    lines = [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    width = len(lines[0])  # a row's trailing empty cells are not stored
    return [
        dict(zip(lines[0], line + [""] * (width - len(line)), strict=True)) for line in lines[1:]
    ]


@pytest.mark.parametrize("role", [Role.housing_options, Role.commissioner, Role.coordinator])
def test_the_vacancy_export_is_the_board_this_role_sees(
    sqlite_service: Service, role: Role
) -> None:
    client, headers = sqlite_service.client, sqlite_service.as_role(role)
    params = {"gender_policy": "women_only", "within_days": 14}
    board = client.get("/api/vacancies", params=params, headers=headers).json()
    as_csv = client.get("/api/vacancies/export", params=params, headers=headers)
    assert as_csv.status_code == 200, as_csv.text
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert f'filename="vacancies-{board["as_of"]}.csv"' in as_csv.headers["content-disposition"]
    as_xlsx = client.get(
        "/api/vacancies/export", params={**params, "format": "xlsx"}, headers=headers
    )
    assert as_xlsx.status_code == 200, as_xlsx.text

    rows = _csv_rows(as_csv.content)
    assert rows == _xlsx_rows(as_xlsx.content)
    assert [r["unit"] for r in rows] == [u["unit"] for u in board["units"]]
    for row, unit in zip(rows, board["units"], strict=True):
        assert row["name"] == unit["name"]
        assert row["area"] == (unit["area"] or "") and row["address"] == (unit["address"] or "")
        assert int(row["free_now"]) == unit["free_now"]
        assert int(row["freeing_within_days"]) == unit["freeing_within_days"]

    refuges = confidential_units(sqlite_service)
    assert refuges and any(r["confidential"] == "yes" for r in rows)
    sees = role is Role.coordinator
    for refuge in refuges:
        assert refuge.id in {r["unit"] for r in rows}  # refuges are women-only
        for text in (as_csv.text, str(_xlsx_rows(as_xlsx.content))):
            assert (refuge.address in text) is sees
            assert (refuge.name in text) is sees


def test_move_outs_export_and_who_may_have_it(sqlite_service: Service) -> None:
    client = sqlite_service.client
    housing = sqlite_service.as_role(Role.housing_options)
    shown = client.get("/api/move-outs", params={"within_days": 90}, headers=housing).json()
    exported = client.get("/api/move-outs/export", params={"within_days": 90}, headers=housing)
    assert exported.status_code == 200, exported.text
    yes_no = {True: "yes", False: "no"}
    assert _csv_rows(exported.content) == [
        {k: yes_no[v] if isinstance(v, bool) else str(v) for k, v in move.items()} for move in shown
    ]
    commissioner = sqlite_service.as_role(Role.commissioner)
    assert client.get("/api/move-outs/export", headers=commissioner).status_code == 403
    assert client.get("/api/move-outs/export").status_code == 401


def test_an_unknown_format_is_refused_naming_the_parameter(sqlite_service: Service) -> None:
    answer = sqlite_service.client.get(
        "/api/vacancies/export",
        params={"format": "pdf"},
        headers=sqlite_service.as_role(Role.housing_options),
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "format"]


def test_a_unit_name_written_as_a_formula_is_exported_as_text(sqlite_service: Service) -> None:
    client, coordinator = sqlite_service.client, sqlite_service.as_role(Role.coordinator)
    units = client.get("/api/units", headers=coordinator).json()
    unit = next(u for u in units if not u["confidential_address"])
    formula = '=HYPERLINK("http://example.invalid","open")'
    changed = client.put(
        f"/api/units/{unit['id']}", json={**unit, "name": formula}, headers=coordinator
    )
    assert changed.status_code == 200, changed.text
    for fmt, read in (("csv", _csv_rows), ("xlsx", _xlsx_rows)):
        answer = client.get(
            "/api/vacancies/export",
            params={"format": fmt},
            headers=sqlite_service.as_role(Role.housing_options),
        )
        names = {row["unit"]: row["name"] for row in read(answer.content)}
        assert names[unit["id"]] == "'" + formula


def test_cells() -> None:
    assert cell("-1 bed") == "'-1 bed" and cell("@SUM(A1)") == "'@SUM(A1)"
    assert cell("Hostel") == "Hostel" and cell(-3) == -3 and cell(2.5) == 2.5
    assert cell(True) == "yes" and cell(None) is None
