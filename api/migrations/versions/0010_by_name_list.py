"""The By Name List: who is on it, in which cohort and status, their last contact, and the
dated, attributed history of joining, every status change and leaving.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 09:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "by_name_list",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_reference", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("cohort", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=False),
        sa.Column("joined_by", sa.String(length=64), nullable=False),
        sa.Column("last_contact_on", sa.Date(), nullable=False),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.Column("left_by", sa.String(length=64), nullable=True),
        sa.Column("left_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_by_name_list_case_reference", "by_name_list", ["case_reference"])
    op.create_index(
        "one_listing_per_person",
        "by_name_list",
        ["case_reference"],
        unique=True,
        sqlite_where=sa.text("left_on IS NULL"),
        postgresql_where=sa.text("left_on IS NULL"),
    )
    op.create_table(
        "by_name_list_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["by_name_list.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_by_name_list_history_member_id", "by_name_list_history", ["member_id"])


def downgrade() -> None:
    op.drop_index("ix_by_name_list_history_member_id", table_name="by_name_list_history")
    op.drop_table("by_name_list_history")
    op.drop_index("one_listing_per_person", table_name="by_name_list")
    op.drop_index("ix_by_name_list_case_reference", table_name="by_name_list")
    op.drop_table("by_name_list")
