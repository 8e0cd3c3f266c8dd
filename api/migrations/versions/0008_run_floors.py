"""A batch run re-solved with a cohort floor: the run it re-solves, the floor, and its price
(the same data solved without and with the floor). Every column is nullable: runs made
before read as they did.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("allocation_runs") as runs:
        runs.add_column(sa.Column("base_run_id", sa.Integer(), nullable=True))
        runs.add_column(sa.Column("floor", sa.JSON(), nullable=True))
        runs.add_column(sa.Column("price", sa.JSON(), nullable=True))
        runs.create_foreign_key(
            "fk_allocation_runs_base_run_id", "allocation_runs", ["base_run_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("allocation_runs") as runs:
        runs.drop_constraint("fk_allocation_runs_base_run_id", type_="foreignkey")
        for name in ("price", "floor", "base_run_id"):
            runs.drop_column(name)
