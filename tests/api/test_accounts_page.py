"""The admins' accounts page: add an account (the model's rules beside each field), close
one, never one's own; every change audited; nobody else may use it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from api.orm import AuditEventRow
from api.security import Role
from api.services import users
from tests.api.conftest import Service
from tests.api.helpers import factory

A, C = Role.admin, Role.coordinator


def _cookies(service: Service, role: Role = A) -> dict[str, str]:
    return {"bedmatch_token": service.as_role(role)["Authorization"].split()[1]}


def _post(service: Service, path: str, data: dict[str, str]) -> Any:
    page = service.client.get("/admin/users", cookies=_cookies(service))
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    return service.client.post(
        path, data={**data, "csrf_token": csrf}, cookies=_cookies(service), follow_redirects=False
    )


def _audited(service: Service, action: str, subject: str) -> bool:
    with factory(service.client)() as session:
        found = session.scalars(
            select(AuditEventRow).where(
                AuditEventRow.action == action, AuditEventRow.subject_id == subject
            )
        ).first()
    return found is not None


def test_an_admin_adds_an_account_and_it_is_listed_and_audited(sqlite_service: Service) -> None:
    added = _post(
        sqlite_service,
        "/admin/users",
        {"username": "sam.k", "role": "housing_options", "password": "a-long-passphrase"},
    )
    assert added.status_code == 303
    page = sqlite_service.client.get(added.headers["location"], cookies=_cookies(sqlite_service))
    assert "Account sam.k added." in page.text
    row = page.text.split('id="account-sam.k"')[1].split("</tr>")[0]
    assert "Housing Options" in row and "can sign in" in row
    assert _audited(sqlite_service, "create", "sam.k")


def test_a_bad_account_is_refused_beside_each_field_and_nothing_is_added(
    sqlite_service: Service,
) -> None:
    refused = _post(
        sqlite_service,
        "/admin/users",
        {"username": "no spaces", "role": "superuser", "password": "short"},
    )
    assert refused.status_code == 422
    text = refused.text
    assert 'id="error-username"' in text and "letters, digits" in text
    assert 'id="error-role"' in text and 'id="error-password"' in text
    assert "at least 12 characters" in text
    assert 'value="no spaces"' in text  # what was typed stays in the form
    with factory(sqlite_service.client)() as session:
        assert users.find(session, "no spaces") is None


def test_a_name_taken_in_another_case_is_refused(sqlite_service: Service) -> None:
    refused = _post(
        sqlite_service,
        "/admin/users",
        {"username": "COORDINATOR", "role": "admin", "password": "a-long-passphrase"},
    )
    assert refused.status_code == 409 and "whatever their case" in refused.text
    with factory(sqlite_service.client)() as session:
        assert users.find(session, "coordinator").role == "coordinator"  # type: ignore[union-attr]


def test_an_admin_closes_an_account_but_never_their_own(sqlite_service: Service) -> None:
    closed = _post(sqlite_service, "/admin/users/coordinator/close", {})
    assert closed.status_code == 303
    with factory(sqlite_service.client)() as session:
        assert not users.find(session, "coordinator").active  # type: ignore[union-attr]
    assert _audited(sqlite_service, "deactivate", "coordinator")
    # The closed account's sign-in no longer works, as through the API.
    assert (
        sqlite_service.client.get("/api/auth/me", headers=sqlite_service.as_role(C)).status_code
        == 401
    )
    own = _post(sqlite_service, "/admin/users/admin/close", {})
    assert own.status_code == 409 and "your own account" in own.text
    unknown = _post(sqlite_service, "/admin/users/nobody-here/close", {})
    assert unknown.status_code == 404


def test_only_admins_reach_the_accounts_page(sqlite_service: Service) -> None:
    for role in (Role.coordinator, Role.housing_options, Role.commissioner):
        page = sqlite_service.client.get(
            "/admin/users", cookies=_cookies(sqlite_service, role), follow_redirects=False
        )
        assert page.status_code in (303, 403), role
