"""Support placements: a team alone for a person at home; what a referral asks for.

A support placement is a team supporting a person in their own, a family member's or a
non-commissioned tenancy, dated at start and at end with the reason. A referral says what the
person asks for (`wants`: a bed-space, support only, or either) and where they live
(`home_area`); a team may state the hours it gives in people's homes. Every referral stored
before asked for a bed-space, and every team stated no such limit.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as referrals:
        referrals.add_column(
            sa.Column("wants", sa.String(16), nullable=False, server_default="bed")
        )
        referrals.add_column(sa.Column("home_area", sa.String(64), nullable=True))
    with op.batch_alter_table("support_teams") as teams:
        teams.add_column(sa.Column("support_hours_capacity", sa.Float(), nullable=True))
    op.create_table(
        "support_placements",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("referral", sa.String(64), nullable=False),
        sa.Column("support_team", sa.String(64), nullable=False),
        sa.Column("area", sa.String(64), nullable=False),
        sa.Column("lives_in", sa.String(32), nullable=False),
        sa.Column("support_hours", sa.Float(), nullable=False),
        sa.Column("started", sa.Date(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("started_by", sa.String(64), nullable=False),
        sa.Column("ended", sa.Date(), nullable=True),
        sa.Column("end_reason", sa.String(32), nullable=True),
        sa.Column("ended_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["referral"], ["referrals.id"]),
        sa.ForeignKeyConstraint(["support_team"], ["support_teams.id"]),
    )
    op.create_index("ix_support_placements_referral", "support_placements", ["referral"])
    op.create_index("ix_support_placements_support_team", "support_placements", ["support_team"])


def downgrade() -> None:
    op.drop_index("ix_support_placements_support_team", table_name="support_placements")
    op.drop_index("ix_support_placements_referral", table_name="support_placements")
    op.drop_table("support_placements")
    with op.batch_alter_table("support_teams") as teams:
        teams.drop_column("support_hours_capacity")
    with op.batch_alter_table("referrals") as referrals:
        referrals.drop_column("home_area")
        referrals.drop_column("wants")
