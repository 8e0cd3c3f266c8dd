"""Sign-in and sessions: usernames unique regardless of case, signed-out sessions, and an
index for the sign-in events in the audit trail.

Accounts whose names differ only in case could exist before: the oldest keeps its name; each
later one is closed and renamed `<name>~<id>` (a name no one can choose, so it never clashes),
and the change is written to the audit trail. Downgrading keeps those names.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SIGN_INS = sa.text("action = 'sign_in'")


def upgrade() -> None:
    _close_accounts_differing_only_in_case()
    op.create_index("users_username_folded", "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "revoked_sessions",
        sa.Column("token_id", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_id"),
    )
    op.create_index("ix_revoked_sessions_expires_at", "revoked_sessions", ["expires_at"])
    op.create_index(
        "audit_sign_ins",
        "audit_events",
        ["username", "subject_id", "at"],
        sqlite_where=SIGN_INS,
        postgresql_where=SIGN_INS,
    )


def downgrade() -> None:
    op.drop_index("audit_sign_ins", table_name="audit_events")
    op.drop_index("ix_revoked_sessions_expires_at", table_name="revoked_sessions")
    op.drop_table("revoked_sessions")
    op.drop_index("users_username_folded", table_name="users")


def _close_accounts_differing_only_in_case() -> None:
    connection = op.get_bind()
    users = sa.table(
        "users", sa.column("id", sa.Integer), sa.column("username"), sa.column("active")
    )
    audit = sa.table(
        "audit_events",
        *(
            sa.column(name)
            for name in ("at", "username", "role", "action", "subject_type", "subject_id")
        ),
        sa.column("detail"),
    )
    first: dict[str, str] = {}
    at = datetime.now(UTC).replace(tzinfo=None)
    for user_id, username in connection.execute(
        sa.select(users.c.id, users.c.username).order_by(users.c.id)
    ):
        folded = username.lower()
        if folded not in first:
            first[folded] = username
            continue
        renamed = f"{username[: 63 - len(str(user_id))]}~{user_id}"
        connection.execute(
            users.update().where(users.c.id == user_id).values(username=renamed, active=False)
        )
        connection.execute(
            audit.insert().values(
                at=at,
                username="(bedmatch)",
                role="admin",
                action="deactivate",
                subject_type="user",
                subject_id=renamed,
                detail=f"was {username!r}, the same name as {first[folded]!r} but for case",
            )
        )
