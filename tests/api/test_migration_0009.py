"""Migration 0009 adds support placements, what a referral asks for and a team's hours at
home; its downgrade takes them away again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from api.db import make_engine
from api.migrations import downgrade, upgrade
from api.orm import SupportPlacementRow


def test_support_placements_come_and_go(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'support.db'}")
    upgrade(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("support_placements")}
    assert columns == {c.name for c in SupportPlacementRow.__table__.columns}
    referral_columns = {c["name"] for c in inspect(engine).get_columns("referrals")}
    assert {"wants", "home_area"} <= referral_columns
    downgrade(engine, "0007")
    assert "support_placements" not in inspect(engine).get_table_names()
    referral_columns = {c["name"] for c in inspect(engine).get_columns("referrals")}
    assert "wants" not in referral_columns
    upgrade(engine)
    assert "support_placements" in inspect(engine).get_table_names()
    engine.dispose()
