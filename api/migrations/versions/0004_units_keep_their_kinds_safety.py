"""Units keep their kind's safety: a women-only project is women-only, a refuge single-gender
at a confidential address, as the problem model now requires.

A database written before the model held this may hold a unit that contradicts its kind (an
import of a few columns used to reset a refuge to mixed and public). Each such unit is
brought to the safe side, never the other way: its policy becomes women-only, its address
confidential. Every change is written to the audit trail with its old and new value, so a
coordinator can see what was restored and review it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 03:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

units = sa.table(
    "units",
    sa.column("id", sa.String),
    sa.column("kind", sa.String),
    sa.column("gender_policy", sa.String),
    sa.column("confidential_address", sa.Boolean),
)
audit_events = sa.table(
    "audit_events",
    sa.column("at", sa.DateTime),
    sa.column("username", sa.String),
    sa.column("role", sa.String),
    sa.column("action", sa.String),
    sa.column("subject_type", sa.String),
    sa.column("subject_id", sa.String),
    sa.column("detail", sa.Text),
)


def upgrade() -> None:
    bind = op.get_bind()
    at = datetime.now(UTC).replace(tzinfo=None)
    events: list[dict[str, object]] = []
    rows = bind.execute(sa.select(units).where(units.c.kind.in_(("women_only", "refuge")))).all()
    for unit_id, kind, policy, confidential in rows:
        changes: dict[str, tuple[object, str]] = {}
        if kind == "women_only" and policy != "women_only":
            changes["gender_policy"] = ("women_only", f"gender_policy: {policy} -> women_only")
        if kind == "refuge" and policy == "mixed":
            changes["gender_policy"] = ("women_only", f"gender_policy: {policy} -> women_only")
        if kind == "refuge" and not confidential:
            changes["confidential_address"] = (True, "confidential_address: False -> True")
        if not changes:
            continue
        bind.execute(
            sa.update(units)
            .where(units.c.id == unit_id)
            .values({name: value for name, (value, _) in changes.items()})
        )
        events.extend(
            {
                "at": at,
                "username": "schema-upgrade",
                "role": "admin",
                "action": "update",
                "subject_type": "unit",
                "subject_id": unit_id,
                "detail": f"{detail} (restored to the safety its kind requires)",
            }
            for _, detail in changes.values()
        )
    if events:
        bind.execute(sa.insert(audit_events), events)


def downgrade() -> None:
    # The restored values are kept: going back must not make a refuge public again.
    pass
