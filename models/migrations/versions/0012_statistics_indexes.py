"""statistics indexes: what /stats reads (models.stats.grouped), so that a branch's figures
for a year and a committee's take a few index ranges, not table scans

- activities (org_unit_id, starts_at): the activities of a scope's units in a period;
- participations (activity_id, status, walk_in, checked_in_at, checked_out_at,
  pledge_amount, saplings_planted, member_id): an activity's outcomes, hours and pledges
  summed from the index alone, and the per-member attendance grouped from it;
- memberships (org_unit_id, kind, status, member_id, requested_at, decided_at): the
  reports and the active members of a scope's units, from the index alone;
- notices (org_unit_id, sent_at): the notices a scope's units sent in a period;
- notice_recipients (notice_id, acknowledged_at): their copies and acknowledgements.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_activities_unit_starts": ("activities", ["org_unit_id", "starts_at"]),
    "ix_participations_activity_outcome": (
        "participations",
        [
            "activity_id",
            "status",
            "walk_in",
            "checked_in_at",
            "checked_out_at",
            "pledge_amount",
            "saplings_planted",
            "member_id",
        ],
    ),
    "ix_memberships_unit_kind_status": (
        "memberships",
        ["org_unit_id", "kind", "status", "member_id", "requested_at", "decided_at"],
    ),
    "ix_notices_unit_sent": ("notices", ["org_unit_id", "sent_at"]),
    "ix_notice_recipients_notice_ack": ("notice_recipients", ["notice_id", "acknowledged_at"]),
}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in reversed(INDEXES.items()):
        op.drop_index(name, table_name=table)
