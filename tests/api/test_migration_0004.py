"""A database written before the model held a unit's kind to its safety is brought to the
safe side on upgrade, and every change is in the audit trail."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.db import make_engine
from api.migrations import upgrade
from api.orm import AuditEventRow, UnitRow


def test_units_contradicting_their_kind_are_made_safe_and_audited(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0003")
    columns = (
        "id, name, area, kind, gender_policy, self_contained, min_age, max_age, "
        "under_18_approved, staffing, mappa_approved, max_risk, max_high_risk_residents, "
        "support_hours_capacity, offers, pathway, confidential_address, address"
    )
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO areas (id, name) VALUES ('A1', 'North')"))
        for unit_id, kind, policy, confidential in (
            ("U1", "refuge", "mixed", False),
            ("U2", "women_only", "men_only", False),
            ("U3", "refuge", "women_only", True),
            ("U4", "adult_mixed", "mixed", False),
        ):
            connection.execute(
                text(
                    f"INSERT INTO units ({columns}) VALUES (:id, '', 'A1', :kind, :policy, 0, "
                    "16, 120, 0, 'daytime', 0, 'high', 2, 10.0, '[]', 'recovery', :conf, NULL)"
                ),
                {"id": unit_id, "kind": kind, "policy": policy, "conf": confidential},
            )
    upgrade(engine)
    with Session(engine) as session:
        stored = {
            u.id: (u.gender_policy, u.confidential_address)
            for u in session.scalars(select(UnitRow))
        }
        events = sorted(
            (e.subject_id, e.detail.split(" (")[0]) for e in session.scalars(select(AuditEventRow))
        )
    assert stored == {
        "U1": ("women_only", True),
        "U2": ("women_only", False),
        "U3": ("women_only", True),
        "U4": ("mixed", False),
    }
    assert events == [
        ("U1", "confidential_address: False -> True"),
        ("U1", "gender_policy: mixed -> women_only"),
        ("U2", "gender_policy: men_only -> women_only"),
    ]
    engine.dispose()
