"""Join the two lines of migrations made side by side from 0004: 0005 (names, referral times,
offers) and 0007 (departures, transfers, undo). Nothing to change: each line's tables are its
own, so a database at either head upgrades through the other, and both come down to 0004.

Revision ID: 0005_0007
Revises: 0005, 0007
Create Date: 2026-12-07 07:00:00
"""

from __future__ import annotations

revision = "0005_0007"
down_revision = ("0005", "0007")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
