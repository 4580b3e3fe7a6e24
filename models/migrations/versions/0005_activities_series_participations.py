"""activities, activity series, participations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "activity_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("include_subunits", sa.Boolean(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "general_meeting",
                "committee_meeting",
                "group_meeting",
                "lecture",
                "theme_day",
                "volunteer",
                "tree_planting",
                "other",
                name="activity_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column(
            "rule",
            sa.Enum(
                "last_friday_monthly",
                "monthly_day",
                "weekly",
                name="recurrence_rule",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("rule_day", sa.Integer(), nullable=True),
        sa.Column("local_time", sa.Time(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ended_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_activity_series_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_series")),
    )
    op.create_index(op.f("ix_activity_series_org_unit_id"), "activity_series", ["org_unit_id"])

    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("include_subunits", sa.Boolean(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "general_meeting",
                "committee_meeting",
                "group_meeting",
                "lecture",
                "theme_day",
                "volunteer",
                "tree_planting",
                "other",
                name="activity_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("starts_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("signup_deadline", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("seats_taken", sa.Integer(), nullable=False),
        sa.Column("waitlist_counter", sa.Integer(), nullable=False),
        sa.Column(
            "pledge_kind",
            sa.Enum(
                "none",
                "saplings",
                "money",
                name="pledge_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("cancel_cutoff_hours", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "cancelled",
                name="activity_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("cancelled_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("share_code", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "capacity IS NULL OR seats_taken <= capacity", name=op.f("ck_activities_seats_within")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_activities_ends_after_start")),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_activities_org_unit_id_org_units")
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["activity_series.id"],
            name=op.f("fk_activities_series_id_activity_series"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sa.UniqueConstraint(
            "series_id", "starts_at", name=op.f("uq_activities_series_id_starts_at")
        ),
        sa.UniqueConstraint("share_code", name=op.f("uq_activities_share_code")),
    )
    op.create_index(op.f("ix_activities_org_unit_id"), "activities", ["org_unit_id"])
    op.create_index(op.f("ix_activities_series_id"), "activities", ["series_id"])
    op.create_index(op.f("ix_activities_starts_at"), "activities", ["starts_at"])

    op.create_table(
        "participations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "signed_up",
                "waitlisted",
                "cancelled",
                "expected",
                "attending",
                "leave_requested",
                "excused",
                "leave_declined",
                "absent",
                "made_up",
                name="participation_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("queue_number", sa.Integer(), nullable=True),
        sa.Column("queued_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pledge_amount", sa.BigInteger(), nullable=True),
        sa.Column("leave_reason", sa.String(length=200), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "check_in_method",
            sa.Enum(
                "qr",
                "location",
                "secretary",
                name="check_in_method",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("checked_in_latitude", sa.Float(), nullable=True),
        sa.Column("checked_in_longitude", sa.Float(), nullable=True),
        sa.Column("responded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("nudged_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_participations_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_participations_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participations")),
        sa.UniqueConstraint(
            "activity_id", "member_id", name=op.f("uq_participations_activity_id_member_id")
        ),
    )
    op.create_index(
        "ix_participations_activity_status", "participations", ["activity_id", "status"]
    )
    op.create_index(op.f("ix_participations_member_id"), "participations", ["member_id"])


def downgrade() -> None:
    op.drop_table("participations")
    op.drop_table("activities")
    op.drop_table("activity_series")
