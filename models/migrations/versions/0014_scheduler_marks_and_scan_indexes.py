"""the scheduler's marks on activities, the digest days, and the indexes the scans use

A scan runs every minute; its cost follows what is due, not the size of the
organisation (models.attendance.reminders, models.staff.digests_due). Activities get
`announced_at`, `reminded_at` and `silence_reported_at`, so a scan reads an audience
only when something is due for it; `digest_days` records a day whose digest was made,
also when it had nothing to say. Existing activities start unmarked: the first scan
after the upgrade reads their audiences once, and the dedup keys keep anything from
going twice. Indexes: rosters sort by name, audiences are the active members of units,
the announcement scan reads who became a member since, /unreachable lists the
members Telegram refused, and the outbox prune finds old rows by their age.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MARKS = ("announced_at", "reminded_at", "silence_reported_at")


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        for name in MARKS:
            batch_op.add_column(
                sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=True)
            )
    op.create_table(
        "digest_days",
        sa.Column("telegram_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("telegram_id", "day", name=op.f("pk_digest_days")),
    )
    op.create_index(op.f("ix_members_real_name"), "members", ["real_name"])
    op.create_index(op.f("ix_members_unreachable_at"), "members", ["unreachable_at"])
    op.create_index(
        "ix_memberships_status_unit", "memberships", ["status", "org_unit_id", "member_id"]
    )
    op.create_index("ix_memberships_decided_at", "memberships", ["decided_at"])
    op.create_index(op.f("ix_deliveries_created_at"), "deliveries", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_deliveries_created_at"), table_name="deliveries")
    op.drop_index("ix_memberships_decided_at", table_name="memberships")
    op.drop_index("ix_memberships_status_unit", table_name="memberships")
    op.drop_index(op.f("ix_members_unreachable_at"), table_name="members")
    op.drop_index(op.f("ix_members_real_name"), table_name="members")
    op.drop_table("digest_days")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        for name in reversed(MARKS):
            batch_op.drop_column(name)
