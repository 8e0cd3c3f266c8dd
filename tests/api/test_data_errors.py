"""The backstop behind the models: a value the database itself refuses is a 422 naming the
field where the statement says which, never a 500 (`api.data_errors`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import install_error_handlers
from api.db import make_engine
from api.orm import AreaRow, ReferralRow

REFERRAL: dict[str, Any] = {
    "id": "RZ1",
    "referred": date(2026, 11, 1),
    "age": 30,
    "gender": "man",
    "risk": "low",
    "pathway": "recovery",
}


def writing_app(url: str) -> Iterator[TestClient]:
    """An app whose one route stores what it is given straight into the database: no model
    in between, as if a value had slipped past validation."""
    app = FastAPI()
    install_error_handlers(app)
    engine = make_engine(url)

    @app.post("/areas")
    def add_area(body: dict[str, Any]) -> None:
        with Session(engine) as session:
            session.add(AreaRow(**body))
            session.commit()

    @app.post("/referrals")
    def add_referral(body: dict[str, Any]) -> None:
        with Session(engine) as session:
            session.add(ReferralRow(**{**REFERRAL, **body}))
            session.commit()

    @app.get("/arithmetic")
    def arithmetic() -> None:
        raise OverflowError("not the database")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    engine.dispose()


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    yield from writing_app(database_url)


def test_an_integer_beyond_the_column_is_a_422(client: TestClient, database_url: str) -> None:
    # 2**70 is past SQLite's 64 bits; 2**31 already past PostgreSQL's `integer`.
    age = 2**70 if database_url.startswith("sqlite") else 2**31
    response = client.post("/referrals", json={"age": age})
    assert response.status_code == 422, response.text
    if database_url.startswith("postgresql"):
        assert response.json()["detail"][0]["loc"] == ["body", "age"]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"id": "A" * 65, "name": ""}, "id"), ({"id": "A1", "name": "North\x00"}, "name")],
)
def test_postgresql_refusing_text_is_a_422_naming_the_field(
    postgres_url: str, body: dict[str, Any], field: str
) -> None:
    for client in writing_app(postgres_url):
        response = client.post("/areas", json=body)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]


def test_an_overflow_outside_the_database_is_still_a_server_error(client: TestClient) -> None:
    assert client.get("/arithmetic").status_code == 500
