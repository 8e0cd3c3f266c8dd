"""The service tables: inventory, people, placements, runs, overrides, users and audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 07:06:23.234376
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "allocation_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("backend", sa.String(length=16), nullable=False),
        sa.Column("time_limit_s", sa.Float(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("data_version", sa.Integer(), nullable=False),
        sa.Column("solve_status", sa.String(length=32), nullable=True),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("bound", sa.Float(), nullable=True),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("solve_seconds", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "areas",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject_type", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_events_at"), ["at"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("referred", sa.Date(), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("gender", sa.String(length=32), nullable=False),
        sa.Column("needs_women_only", sa.Boolean(), nullable=False),
        sa.Column("wants_female_worker", sa.Boolean(), nullable=False),
        sa.Column("household_size", sa.Integer(), nullable=False),
        sa.Column("risk", sa.String(length=32), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("support_hours", sa.Float(), nullable=False),
        sa.Column("needs_24_7", sa.Boolean(), nullable=False),
        sa.Column("needs_accessible", sa.Boolean(), nullable=False),
        sa.Column("pathway", sa.String(length=32), nullable=False),
        sa.Column("preferred_areas", sa.JSON(), nullable=False),
        sa.Column("excluded_areas", sa.JSON(), nullable=False),
        sa.Column("strengths", sa.JSON(), nullable=False),
        sa.Column("keep_apart", sa.JSON(), nullable=False),
        sa.Column("keep_together", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_status"), ["status"], unique=False)

    service_state = op.create_table(
        "service_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # The one row every placement write locks (see api/db.py).
    op.bulk_insert(service_state, [{"id": 1, "version": 0}])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("a", sa.String(length=64), nullable=False),
        sa.Column("b", sa.String(length=64), nullable=False),
        sa.Column("minutes", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["a"],
            ["areas.id"],
        ),
        sa.ForeignKeyConstraint(
            ["b"],
            ["areas.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "support_teams",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("caseload_capacity", sa.Integer(), nullable=False),
        sa.Column("current_caseload", sa.Integer(), nullable=False),
        sa.Column("female_workers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["area"],
            ["areas.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("area", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("gender_policy", sa.String(length=32), nullable=False),
        sa.Column("self_contained", sa.Boolean(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=False),
        sa.Column("max_age", sa.Integer(), nullable=False),
        sa.Column("under_18_approved", sa.Boolean(), nullable=False),
        sa.Column("staffing", sa.String(length=32), nullable=False),
        sa.Column("mappa_approved", sa.Boolean(), nullable=False),
        sa.Column("max_risk", sa.String(length=32), nullable=False),
        sa.Column("max_high_risk_residents", sa.Integer(), nullable=False),
        sa.Column("support_hours_capacity", sa.Float(), nullable=False),
        sa.Column("offers", sa.JSON(), nullable=False),
        sa.Column("pathway", sa.String(length=32), nullable=False),
        sa.Column("confidential_address", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(length=400), nullable=True),
        sa.ForeignKeyConstraint(
            ["area"],
            ["areas.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "bedspaces",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("cluster", sa.String(length=64), nullable=False),
        sa.Column("accessible", sa.Boolean(), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["unit"],
            ["units.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("bedspaces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bedspaces_unit"), ["unit"], unique=False)

    op.create_table(
        "allocation_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("referral", sa.String(length=64), nullable=False),
        sa.Column("bedspace", sa.String(length=64), nullable=True),
        sa.Column("support_team", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bedspace"],
            ["bedspaces.id"],
        ),
        sa.ForeignKeyConstraint(
            ["referral"],
            ["referrals.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["allocation_runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["support_team"],
            ["support_teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("allocation_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocation_results_run_id"), ["run_id"], unique=False)

    op.create_table(
        "placements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referral", sa.String(length=64), nullable=False),
        sa.Column("bedspace", sa.String(length=64), nullable=False),
        sa.Column("support_team", sa.String(length=64), nullable=True),
        sa.Column("placed_on", sa.Date(), nullable=False),
        sa.Column("placed_at", sa.DateTime(), nullable=False),
        sa.Column("placed_by", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bedspace"],
            ["bedspaces.id"],
        ),
        sa.ForeignKeyConstraint(
            ["referral"],
            ["referrals.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["allocation_runs.id"],
        ),
        sa.ForeignKeyConstraint(
            ["support_team"],
            ["support_teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_placements_referral"), ["referral"], unique=False)

    op.create_table(
        "residents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("bedspace", sa.String(length=64), nullable=False),
        sa.Column("gender", sa.String(length=32), nullable=False),
        sa.Column("age", sa.Integer(), nullable=False),
        sa.Column("risk", sa.String(length=32), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("support_hours", sa.Float(), nullable=False),
        sa.Column("arrived", sa.Date(), nullable=True),
        sa.Column("expected_leave", sa.Date(), nullable=True),
        sa.Column("support_team", sa.String(length=64), nullable=True),
        sa.Column("left_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bedspace"],
            ["bedspaces.id"],
        ),
        sa.ForeignKeyConstraint(
            ["support_team"],
            ["support_teams.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(
            "one_present_resident_per_bedspace",
            ["bedspace"],
            unique=True,
            sqlite_where=sa.text("left_on IS NULL"),
            postgresql_where=sa.text("left_on IS NULL"),
        )

    op.create_table(
        "overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("referral", sa.String(length=64), nullable=False),
        sa.Column("bedspace", sa.String(length=64), nullable=False),
        sa.Column("recommended", sa.String(length=64), nullable=True),
        sa.Column("chosen_rank", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["bedspace"],
            ["bedspaces.id"],
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placements.id"],
        ),
        sa.ForeignKeyConstraint(
            ["referral"],
            ["referrals.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("overrides")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(
            "one_present_resident_per_bedspace",
            sqlite_where=sa.text("left_on IS NULL"),
            postgresql_where=sa.text("left_on IS NULL"),
        )

    op.drop_table("residents")
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_placements_referral"))

    op.drop_table("placements")
    with op.batch_alter_table("allocation_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_results_run_id"))

    op.drop_table("allocation_results")
    with op.batch_alter_table("bedspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bedspaces_unit"))

    op.drop_table("bedspaces")
    op.drop_table("units")
    op.drop_table("support_teams")
    op.drop_table("links")
    op.drop_table("users")
    op.drop_table("service_state")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_status"))

    op.drop_table("referrals")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_at"))

    op.drop_table("audit_events")
    op.drop_table("areas")
    op.drop_table("allocation_runs")
