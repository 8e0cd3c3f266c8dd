"""A person, not a row; offers; clocks: a referral's name and case reference (personal data,
optional), the moment it was referred (`referred_at`; the date alone stays in `referred`), and
the offers that hold a bed-space for one person.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("referred_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("case_reference", sa.String(length=64), nullable=True))
    op.create_index("ix_referrals_case_reference", "referrals", ["case_reference"])
    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral", sa.String(length=64), nullable=False),
        sa.Column("bedspace", sa.String(length=64), nullable=False),
        sa.Column("support_team", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("made_by", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("closing_note", sa.Text(), nullable=True),
        sa.Column("arrival_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["referral"], ["referrals.id"]),
        sa.ForeignKeyConstraint(["bedspace"], ["bedspaces.id"]),
        sa.ForeignKeyConstraint(["support_team"], ["support_teams.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["allocation_runs.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_offers_referral", "offers", ["referral"])
    op.create_index("ix_offers_bedspace", "offers", ["bedspace"])
    for name, column in (
        ("one_open_offer_per_bedspace", "bedspace"),
        ("one_open_offer_per_referral", "referral"),
    ):
        op.create_index(
            name,
            "offers",
            [column],
            unique=True,
            sqlite_where=sa.text("state = 'open'"),
            postgresql_where=sa.text("state = 'open'"),
        )


def downgrade() -> None:
    op.drop_index("one_open_offer_per_referral", table_name="offers")
    op.drop_index("one_open_offer_per_bedspace", table_name="offers")
    op.drop_index("ix_offers_bedspace", table_name="offers")
    op.drop_index("ix_offers_referral", table_name="offers")
    op.drop_table("offers")
    op.drop_index("ix_referrals_case_reference", table_name="referrals")
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("case_reference")
        batch.drop_column("name")
        batch.drop_column("referred_at")
