"""Scan indexes: participations by activity, status and nudged_at; memberships by status
and decided_at

The minute's scan for members nudged a day ago who still have not answered
(models.attendance.reminders.unanswered_after_nudge) read every expected participation
of the activities it looks at, and filtered on nudged_at: at 100,000 members, six
seconds a minute on SQLite while nobody was due. With the index it reads the rows due.
Who became a member since a scan last looked was read through the status index (every
active membership) on SQLite; with status and decided_at together it reads the new ones.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_participations_activity_status_nudged",
        "participations",
        ["activity_id", "status", "nudged_at"],
    )
    op.create_index("ix_memberships_status_decided", "memberships", ["status", "decided_at"])
    op.drop_index("ix_memberships_decided_at", table_name="memberships")


def downgrade() -> None:
    op.create_index("ix_memberships_decided_at", "memberships", ["decided_at"])
    op.drop_index("ix_memberships_status_decided", table_name="memberships")
    op.drop_index("ix_participations_activity_status_nudged", table_name="participations")
