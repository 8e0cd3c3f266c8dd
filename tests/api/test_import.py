"""Import from CSV and XLSX: all or nothing, every bad row and field listed."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

from api.security import Role
from tests.api.conftest import Service
from tests.api.helpers import import_counts

HEADER = "id,unit,cluster,accessible,available_from"


def upload(service: Service, kind: str, name: str, content: bytes) -> Any:
    return service.client.post(
        f"/api/import/{kind}",
        files={"file": (name, content)},
        headers=service.as_role(Role.coordinator),
    )


def bedspace_ids(service: Service) -> set[str]:
    response = service.client.get("/api/bedspaces", headers=service.as_role(Role.coordinator))
    return {b["id"] for b in response.json()}


def test_a_good_csv_is_stored_whole(service: Service) -> None:
    csv = f"{HEADER}\nNB1,U0001,C9,yes,\nNB2,U0001,C9,no,2026-12-01\n".encode()
    response = upload(service, "bedspaces", "beds.csv", csv)
    assert response.status_code == 200, response.text
    assert import_counts(response.json()) == {"kind": "bedspaces", "created": 2, "updated": 0}
    assert {"NB1", "NB2"} <= bedspace_ids(service)


def test_a_csv_with_bad_rows_lists_every_one_and_stores_none(service: Service) -> None:
    csv = (
        f"{HEADER}\n"
        "NB1,U0001,C9,yes,\n"  # fine
        "NB2,U0001,C9,perhaps,\n"  # row 3: accessible is not a boolean
        "NB3,U0001,C9,no,31/12/2026\n"  # row 4: not an ISO date
        "NB1,U0001,C9,no,\n"  # row 5: duplicate id
    ).encode()
    before = bedspace_ids(service)
    response = upload(service, "bedspaces", "beds.csv", csv)
    assert response.status_code == 422
    locs = [tuple(d["loc"]) for d in response.json()["detail"]]
    assert ("rows", 3, "accessible") in locs
    assert ("rows", 4, "available_from") in locs
    assert ("rows", 5, "id") in locs
    assert bedspace_ids(service) == before


def test_an_unknown_unit_is_named_on_its_row(service: Service) -> None:
    csv = f"{HEADER}\nNB1,U0001,C9,no,\nNB2,NO-UNIT,C9,no,\n".encode()
    response = upload(service, "bedspaces", "beds.csv", csv)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail == [
        {"loc": ["rows", 3, "unit"], "msg": "unknown unit id 'NO-UNIT'", "type": "value_error"}
    ]
    assert "NB1" not in bedspace_ids(service)


def test_referrals_from_an_xlsx_sheet(service: Service) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    columns = ["id", "referred", "age", "gender", "risk", "flags", "priority", "preferred_areas"]
    sheet.append(columns)
    sheet.append(["X1", "2026-11-20", 30, "woman", "low", "mental_health;care_leaver", 3, "A01"])
    sheet.append(["X2", "2026-11-21", 15, "man", "extreme", "", 9, ""])
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(service, "referrals", "referrals.xlsx", buffer.getvalue())
    assert response.status_code == 422
    locs = {tuple(d["loc"]) for d in response.json()["detail"]}
    assert locs == {("rows", 3, "age"), ("rows", 3, "risk"), ("rows", 3, "priority")}

    sheet.delete_rows(3)
    buffer = io.BytesIO()
    book.save(buffer)
    response = upload(service, "referrals", "referrals.xlsx", buffer.getvalue())
    assert response.status_code == 200, response.text
    stored = service.client.get("/api/referrals/X1", headers=service.as_role(Role.coordinator))
    assert stored.json()["flags"] == ["mental_health", "care_leaver"]
    assert stored.json()["status"] == "waiting"


def test_a_file_that_is_not_a_table_is_refused(service: Service) -> None:
    response = upload(service, "units", "units.xlsx", b"not a workbook")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["file"]
    response = upload(service, "units", "units.pdf", b"%PDF")
    assert response.status_code == 422
