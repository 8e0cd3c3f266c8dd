"""Migration 0006 adds the scenarios table, and its downgrade takes it away again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from api.db import make_engine
from api.migrations import downgrade, upgrade
from api.orm import ScenarioRow


def test_the_scenarios_table_comes_and_goes(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'scenarios.db'}")
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("scenarios")}
    assert columns == {c.name for c in ScenarioRow.__table__.columns}
    downgrade(engine, "0004")
    assert "scenarios" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert "scenarios" in inspect(engine).get_table_names()
    engine.dispose()
