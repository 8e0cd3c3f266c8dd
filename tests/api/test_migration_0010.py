"""Migration 0010 adds the By Name List and its history, matching the ORM (one listing per
person at a time included), and its downgrade takes them away again."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

from api.db import make_engine, make_sessionmaker
from api.migrations import downgrade, upgrade
from api.orm import ListHistoryRow, ListMemberRow


def _listing(left_on: date | None = None) -> ListMemberRow:
    day = date(2026, 12, 7)
    return ListMemberRow(
        case_reference="CASE-1",
        name="A Person",
        cohort="priority",
        status="active",
        joined_on=day,
        joined_by="coordinator",
        last_contact_on=day,
        left_on=left_on,
    )


def test_the_list_tables_come_and_go(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'list.db'}")
    upgrade(engine)
    for table, row in (("by_name_list", ListMemberRow), ("by_name_list_history", ListHistoryRow)):
        columns = {c["name"] for c in inspect(engine).get_columns(table)}
        assert columns == {c.name for c in row.__table__.columns}
    with make_sessionmaker(engine)() as session:
        session.add(_listing(left_on=date(2026, 12, 1)))  # left: a new listing may follow
        session.add(_listing())
        session.commit()
        session.add(_listing())
        with pytest.raises(IntegrityError):
            session.commit()
    downgrade(engine, "0009")
    assert "by_name_list" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "by_name_list_history" in inspect(engine).get_table_names()
    engine.dispose()
