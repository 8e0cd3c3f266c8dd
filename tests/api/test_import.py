"""Import from CSV and XLSX: all or nothing, every bad row and field listed."""

from __future__ import annotations

import csv
import io
import threading
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from api.security import Role
from api.services import imports, spreadsheets
from api.services.imports import MAX_ROWS
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
        "NB3,U0001,C9,no,12/31/2026\n"  # row 4: month first, no date a UK sheet holds
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


def xlsx_of_rows(rows: int, dimension: str | None = None) -> bytes:
    """An XLSX whose first sheet has a header and `rows` one-cell rows, its size stated as
    `dimension` or not at all: a few tens of KB that describe a table of any length (openpyxl
    would take minutes to write it)."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id"])
    written = io.BytesIO()
    book.save(written)
    cells = "<row><c><v>1</v></c></row>" * rows
    stated = f'<dimension ref="{dimension}"/>' if dimension else ""
    sheet_xml = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'{stated}<sheetData><row><c t="inlineStr"><is><t>id</t></is></c></row>{cells}</sheetData>'
        "</worksheet>"
    )
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(written.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            data = source.read(part.filename)
            if part.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            target.writestr(part.filename, data)
    return out.getvalue()


@pytest.mark.parametrize("dimension", [None, "A1:A1000001", "A1:A1"])
def test_a_million_row_xlsx_is_refused_after_reading_only_the_rows_allowed(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch, dimension: str | None
) -> None:
    # Without a stated size openpyxl would parse the whole sheet to measure it when the
    # workbook is opened; with one, it reads as far as it says. Neither gets past the cap.
    content = xlsx_of_rows(1_000_000, dimension)
    parsed = 0
    iterparse = spreadsheets.ElementTree.iterparse

    def counted_parse(*args: Any, **kwargs: Any) -> Iterator[Any]:
        nonlocal parsed
        for event in iterparse(*args, **kwargs):
            parsed += 1
            yield event

    monkeypatch.setattr(spreadsheets.ElementTree, "iterparse", counted_parse)
    assert len(content) < 200_000
    read = 0
    iter_rows = ReadOnlyWorksheet.iter_rows

    def counted(self: ReadOnlyWorksheet, *args: Any, **kwargs: Any) -> Iterator[Any]:
        nonlocal read
        for row in iter_rows(self, *args, **kwargs):
            read += 1
            yield row

    monkeypatch.setattr(ReadOnlyWorksheet, "iter_rows", counted)
    response = upload(sqlite_service, "units", "units.xlsx", content)
    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [
        {"loc": ["file"], "msg": f"more than {MAX_ROWS} rows", "type": "value_error"}
    ]
    assert read <= MAX_ROWS + 2  # the header, the rows allowed and the first one too many
    assert parsed <= 5 * (MAX_ROWS + 2)  # a row is a start tag for the row, cell and value


def test_an_xlsx_that_states_too_small_a_size_is_read_to_its_last_row() -> None:
    table = spreadsheets.read_table("u.xlsx", io.BytesIO(xlsx_of_rows(5, "A1:A1")), MAX_ROWS)
    assert table == [{"id": "1"}] * 5


def test_a_csv_of_too_many_rows_is_refused_while_reading_it(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = 0

    class CountedReader(csv.DictReader):  # type: ignore[type-arg]
        def __next__(self) -> dict[str, str]:
            nonlocal read
            read += 1
            return super().__next__()

    monkeypatch.setattr(spreadsheets.csv, "DictReader", CountedReader)
    content = b"id\n" + b"U\n" * 1_000_000
    response = upload(sqlite_service, "units", "units.csv", content)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["msg"] == f"more than {MAX_ROWS} rows"
    assert read <= MAX_ROWS + 1


def test_other_requests_are_answered_while_an_import_is_stored(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The import is held inside its storing until the test lets it go: if it ran on the event
    # loop, nothing else could be answered until then, and the hold would run out instead.
    storing, release = threading.Event(), threading.Event()
    released_in_time: list[bool] = []
    import_items = imports.import_items

    def held(*args: Any, **kwargs: Any) -> Any:
        storing.set()
        released_in_time.append(release.wait(timeout=15))
        return import_items(*args, **kwargs)

    monkeypatch.setattr(imports, "import_items", held)
    csv_text = f"{HEADER}\n" + "".join(f"NB{n},U0001,C9,no,\n" for n in range(3))
    answers: list[Any] = []
    importing = threading.Thread(
        target=lambda: answers.append(
            upload(sqlite_service, "bedspaces", "b.csv", csv_text.encode())
        )
    )
    importing.start()
    try:
        assert storing.wait(timeout=30)
        me = sqlite_service.client.get("/api/auth/me", headers=sqlite_service.as_role(Role.admin))
        assert me.status_code == 200
        assert not answers  # the import is still being stored
    finally:
        release.set()
        importing.join(timeout=60)
    assert released_in_time == [True]
    assert answers[0].status_code == 200, answers[0].text
