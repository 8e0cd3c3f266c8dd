"""Departures with their reason and destination; transfers and placements undone, kept.

A move-out records why the stay ended (planned move-on, eviction, abandonment, custody,
hospital, death, other) and where the person went; a placement row may be a transfer from
another bed-space, or a placement undone within a day, with who undid it and why. Every
column is nullable: stays and placements recorded before keep reading as they did.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("residents") as residents:
        residents.add_column(sa.Column("left_reason", sa.String(32), nullable=True))
        residents.add_column(sa.Column("destination", sa.String(32), nullable=True))
        residents.add_column(sa.Column("left_note", sa.Text(), nullable=True))
    with op.batch_alter_table("placements") as placements:
        placements.add_column(sa.Column("transfer_from", sa.String(64), nullable=True))
        placements.add_column(sa.Column("undone_at", sa.DateTime(), nullable=True))
        placements.add_column(sa.Column("undone_by", sa.String(64), nullable=True))
        placements.add_column(sa.Column("undo_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("placements") as placements:
        for name in ("undo_reason", "undone_by", "undone_at", "transfer_from"):
            placements.drop_column(name)
    with op.batch_alter_table("residents") as residents:
        for name in ("left_note", "destination", "left_reason"):
            residents.drop_column(name)
