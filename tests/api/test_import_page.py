"""The import page: templates that document every column, a check that shows every change
before anything is stored, then an import of all of it or none; UK day-first dates."""

from __future__ import annotations

import csv
import io
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select

from api.orm import AuditEventRow, ReferralRow
from api.security import Role
from api.services import import_template, imports
from api.services.imports import IMPORTABLE, iso_date_text
from api.services.kept_uploads import KeptUploads
from tests.api.conftest import Service
from tests.api.helpers import factory

C, A, H = Role.coordinator, Role.admin, Role.housing_options


def _cookies(service: Service, role: Role) -> dict[str, str]:
    return {"bedmatch_token": service.as_role(role)["Authorization"].split()[1]}


def _csrf(page: str) -> str:
    return page.split('name="csrf_token" value="')[1].split('"')[0]


def _check(service: Service, kind: str, name: str, body: bytes, role: Role = C) -> Any:
    cookies = _cookies(service, role)
    page = service.client.get("/import", cookies=cookies)
    return service.client.post(
        "/import",
        data={"kind": kind, "csrf_token": _csrf(page.text)},
        files={"file": (name, body, "text/csv")},
        cookies=cookies,
    )


def _token(page: str) -> str:
    return page.split('name="token" value="')[1].split('"')[0]


def _confirm(service: Service, page: str, decision: str = "import", role: Role = C) -> Any:
    return service.client.post(
        "/import/confirm",
        data={"token": _token(page), "decision": decision, "csrf_token": _csrf(page)},
        cookies=_cookies(service, role),
        follow_redirects=False,
    )


def _referral(service: Service, referral_id: str) -> ReferralRow | None:
    with factory(service.client)() as session:
        return session.get(ReferralRow, referral_id)


@pytest.mark.parametrize("kind", sorted(IMPORTABLE))
def test_every_column_of_every_sheet_is_documented(kind: str) -> None:
    documented = import_template.columns(kind)
    assert [c.name for c in documented] == list(IMPORTABLE[kind].model.model_fields)
    for column in documented:
        assert column.meaning and column.takes, column.name
    referral_risk = [c for c in import_template.columns("referrals") if c.name == "risk"][0]
    assert referral_risk.needed and not referral_risk.default  # never assumed


@pytest.mark.parametrize("kind", sorted(IMPORTABLE))
def test_each_template_holds_every_column_and_its_example_checks_clean(
    sqlite_service: Service, kind: str
) -> None:
    """The template as downloaded, CSV and Excel, is a sheet the import takes: every
    column, and an example row that passes every check."""
    cookies = _cookies(sqlite_service, C)
    client = sqlite_service.client
    names = [c.name for c in import_template.columns(kind)]
    as_csv = client.get(f"/import/template/{kind}.csv", cookies=cookies)
    assert as_csv.status_code == 200 and "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert list(rows[0]) == names and len(rows) == 1
    as_xlsx = client.get(f"/import/template/{kind}.xlsx", cookies=cookies)
    book = openpyxl.load_workbook(io.BytesIO(as_xlsx.content))
    assert book.sheetnames == [kind, "Columns"]
    assert [c.value for c in book[kind][1]] == names
    assert [r[0].value for r in book["Columns"].iter_rows(min_row=2, max_row=len(names) + 1)] == (
        names
    )
    table = [dict(zip(names, (str(c.value or "") for c in book[kind][2]), strict=True))]
    parsed = imports.parse_rows(IMPORTABLE[kind], table)
    assert parsed[0].id == import_template.EXAMPLES[kind]["id"]


def test_a_sheet_is_checked_shown_change_by_change_then_imported(sqlite_service: Service) -> None:
    client = sqlite_service.client
    sheet = (
        b"id,referred,age,gender,risk,needs_women_only,priority\n"
        b"RNEW1,07/12/2026,24,woman,medium,yes,4\n"
        b"R00002,,,,,,5\n"
    )
    before = _referral(sqlite_service, "R00002")
    assert before is not None and before.priority != 5
    checked = _check(sqlite_service, "referrals", "list.csv", sheet)
    assert checked.status_code == 200, checked.text
    assert 'id="import-preview"' in checked.text
    assert "RNEW1" in checked.text and "<strong>priority</strong>" in checked.text
    assert _referral(sqlite_service, "RNEW1") is None  # a check stores nothing

    done = _confirm(sqlite_service, checked.text)
    assert done.status_code == 303
    shown = client.get(done.headers["location"], cookies=_cookies(sqlite_service, C))
    assert "Imported list.csv: 1 record created, 1 changed" in shown.text
    created = _referral(sqlite_service, "RNEW1")
    assert created is not None and created.referred.isoformat().startswith("2026-12-07")
    assert created.needs_women_only and created.risk == "medium"
    changed = _referral(sqlite_service, "R00002")
    assert changed is not None and changed.priority == 5
    assert changed.age == before.age  # cells left empty keep what is stored
    again = _confirm(sqlite_service, checked.text)  # the same check cannot be used twice
    assert again.status_code == 409 and "expired or was already used" in again.text


def test_a_bad_sheet_lists_every_problem_and_stores_nothing(sqlite_service: Service) -> None:
    sheet = (
        b"id,referred,age,gender,risk,colour\n"
        b"RBAD1,31/02/2026,24,woman,medium,\n"
        b"RBAD2,2026-12-01,12,woman,,\n"
        b"RBAD3,01/12/2026,30,robot,low,\n"
    )
    checked = _check(sqlite_service, "referrals", "bad.csv", sheet)
    assert checked.status_code == 422
    text = checked.text
    assert "Nothing was imported" in text and 'id="import-preview"' not in text
    assert "Columns" in text and "colour" in text
    assert "Row 2, referred" in text and "DD/MM/YYYY" in text
    assert "Row 3, age" in text and "Row 4, gender" in text
    for referral_id in ("RBAD1", "RBAD2", "RBAD3"):
        assert _referral(sqlite_service, referral_id) is None


def test_a_weakening_is_marked_before_it_is_imported(sqlite_service: Service) -> None:
    """A referral's women-only need turned off is shown as weakening safety; cancelled, it
    is not stored."""
    with factory(sqlite_service.client)() as session:
        referral = session.scalars(
            select(ReferralRow).where(
                ReferralRow.needs_women_only.is_(True), ReferralRow.status == "waiting"
            )
        ).first()
        assert referral is not None
        referral_id = referral.id
    sheet = f"id,needs_women_only\n{referral_id},no\n".encode()
    checked = _check(sqlite_service, "referrals", "women.csv", sheet)
    assert checked.status_code == 200
    assert 'id="weakens-warning"' in checked.text and "(weakens safety)" in checked.text
    cancelled = _confirm(sqlite_service, checked.text, decision="cancel")
    assert cancelled.status_code == 303
    kept = _referral(sqlite_service, referral_id)
    assert kept is not None and kept.needs_women_only


def test_a_check_can_be_confirmed_only_by_whoever_made_it(sqlite_service: Service) -> None:
    sheet = b"id,referred,age,gender,risk\nRMINE,2026-12-01,30,man,low\n"
    checked = _check(sqlite_service, "referrals", "mine.csv", sheet, role=C)
    assert checked.status_code == 200
    other = sqlite_service.client.get("/import", cookies=_cookies(sqlite_service, A))
    stolen = sqlite_service.client.post(
        "/import/confirm",
        data={"token": _token(checked.text), "csrf_token": _csrf(other.text)},
        cookies=_cookies(sqlite_service, A),
    )
    assert stolen.status_code == 409 and _referral(sqlite_service, "RMINE") is None
    assert _confirm(sqlite_service, checked.text).status_code == 303  # still the owner's
    assert _referral(sqlite_service, "RMINE") is not None
    with factory(sqlite_service.client)() as session:
        imported = session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "import")
        ).all()
    assert imported and all(e.username == "coordinator" for e in imported)


def test_housing_options_cannot_import(sqlite_service: Service) -> None:
    page = sqlite_service.client.get("/import", cookies=_cookies(sqlite_service, H))
    assert page.status_code in (303, 403)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("07/12/2026", "2026-12-07"),
        ("7/1/2026", "2026-01-07"),
        ("07.12.2026", "2026-12-07"),
        ("2026-12-07", "2026-12-07"),
        ("07/12/2026 14:30", "2026-12-07T14:30:00"),
        ("31/02/2026", None),
        ("12/31/2026", None),  # month first is not read as a UK date
        ("next week", None),
    ],
)
def test_dates_are_read_iso_or_day_first(text: str, iso: str | None) -> None:
    assert iso_date_text(text) == iso


def test_uploads_kept_for_a_decision_expire_and_are_capped_per_person(tmp_path: Any) -> None:
    kept = KeptUploads(tmp_path / "kept")
    first = kept.keep("kim", "units", "a.csv", io.BytesIO(b"id\n"))
    for name in ("b.csv", "c.csv", "d.csv"):
        kept.keep("Kim", "units", name, io.BytesIO(b"id\n"))
    assert kept.take(first.token, "kim") is None  # the oldest went when a fourth came
    assert not first.path.exists()
