"""activities.nudges_queued_at: when the nudges to answer an invitation were last queued

The nudge scan then reads an audience once, the first time, and afterwards only the
members who joined since (models.attendance.reminders.unanswered_for_nudge), as the
announcement scan does with `announced_at`. Existing activities start unmarked: the
first scan after the upgrade reads their audiences once; members nudged already have
their participation's `nudged_at` and are not nudged again.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("nudges_queued_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_column("nudges_queued_at")
