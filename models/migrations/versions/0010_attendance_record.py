"""the attendance record: check-in methods per activity, check-out, walk-ins, 补学 reports,
the audit trail, wrong-code attempts and check-in screens

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Activities that exist keep what they allowed: check-in by QR code, and by location
where they have coordinates. Each gets its spoken code. Those already over have their
record closed as it stands (closing one now would tell its absentees of a meeting long
past).
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_METHODS = ("qr", "location", "secretary")
NEW_METHODS = ("qr", "location", "code", "secretary")
ACTIONS = (
    "checked_in",
    "walked_in",
    "roster",
    "present",
    "absent",
    "excused",
    "checked_out",
    "planted",
    "made_up_reported",
    "made_up",
    "made_up_declined",
    "closed",
)


def _flag(name: str, default: bool) -> sa.Column:
    return sa.Column(
        name, sa.Boolean(), nullable=False, server_default=sa.true() if default else sa.false()
    )


def _when(name: str) -> sa.Column:
    return sa.Column(name, models.base.UTCDateTime(timezone=True), nullable=True)


def _method_check(methods: Sequence[str]) -> str:
    return "check_in_method IN (" + ", ".join(f"'{m}'" for m in methods) + ")"


def _set_methods(methods: Sequence[str]) -> None:
    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_participations_check_in_method"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_participations_check_in_method"), _method_check(methods)
        )


def _check_in_columns() -> list[sa.Column]:
    """The check-in settings that series and activities both have (new each call)."""
    return [
        _flag("check_in_by_qr", True),
        _flag("check_in_by_code", True),
        _flag("check_in_by_location", False),
        sa.Column("check_in_radius_m", sa.Integer(), nullable=False, server_default="300"),
    ]


def upgrade() -> None:
    with op.batch_alter_table("activity_series", schema=None) as batch_op:
        for column in _check_in_columns():
            batch_op.add_column(column)
        batch_op.add_column(_flag("walk_ins_allowed", False))
    with op.batch_alter_table("activities", schema=None) as batch_op:
        for column in _check_in_columns():
            batch_op.add_column(column)
        batch_op.add_column(
            sa.Column("check_in_opens_minutes", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(sa.Column("check_in_code", sa.String(length=8), nullable=True))
        batch_op.add_column(_flag("check_out_required", False))
        batch_op.add_column(_flag("walk_ins_allowed", False))
        batch_op.add_column(_when("record_closed_at"))

    activities = sa.table(
        "activities",
        sa.column("id", sa.Integer()),
        sa.column("check_in_code", sa.String()),
        sa.column("check_in_by_location", sa.Boolean()),
        sa.column("latitude", sa.Float()),
        sa.column("record_closed_at", models.base.UTCDateTime(timezone=True)),
        sa.column("ends_at", models.base.UTCDateTime(timezone=True)),
    )
    connection = op.get_bind()
    for (activity_id,) in connection.execute(sa.select(activities.c.id)).all():
        code = f"{secrets.randbelow(10_000):04d}"
        connection.execute(
            activities.update().where(activities.c.id == activity_id).values(check_in_code=code)
        )
    op.execute(
        activities.update()
        .where(activities.c.latitude.is_not(None))
        .values(check_in_by_location=sa.true())
    )
    op.execute(
        activities.update()
        .where(activities.c.ends_at < sa.func.current_timestamp())
        .values(record_closed_at=activities.c.ends_at)
    )

    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.alter_column("check_in_code", existing_type=sa.String(length=8), nullable=False)
        for name in (
            "check_in_by_qr",
            "check_in_by_code",
            "check_in_by_location",
            "check_in_radius_m",
            "check_in_opens_minutes",
            "check_out_required",
            "walk_ins_allowed",
        ):
            batch_op.alter_column(name, server_default=None)
    with op.batch_alter_table("activity_series", schema=None) as batch_op:
        for column in _check_in_columns():
            batch_op.alter_column(column.name, server_default=None)
        batch_op.alter_column("walk_ins_allowed", server_default=None)

    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.add_column(_when("checked_out_at"))
        batch_op.add_column(sa.Column("saplings_planted", sa.Integer(), nullable=True))
        batch_op.add_column(_flag("walk_in", False))
        batch_op.add_column(_when("made_up_reported_at"))
        batch_op.add_column(sa.Column("made_up_note", sa.String(length=200), nullable=True))
    with op.batch_alter_table("participations", schema=None) as batch_op:
        batch_op.alter_column("walk_in", server_default=None)
    _set_methods(NEW_METHODS)

    op.create_table(
        "attendance_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                *ACTIONS,
                name="attendance_action",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("before", sa.String(length=24), nullable=True),
        sa.Column("after", sa.String(length=24), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("changed_by", sa.BigInteger(), nullable=True),
        sa.Column("changed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_attendance_changes_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_attendance_changes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_changes")),
    )
    op.create_index(
        "ix_attendance_changes_activity", "attendance_changes", ["activity_id", "changed_at"]
    )
    op.create_index(op.f("ix_attendance_changes_member_id"), "attendance_changes", ["member_id"])

    op.create_table(
        "check_in_code_attempts",
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failed_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_check_in_code_attempts_member_id_members")
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_check_in_code_attempts")),
    )

    op.create_table(
        "check_in_screens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "check_in",
                "check_out",
                name="screen_purpose",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("opened_by", sa.BigInteger(), nullable=False),
        sa.Column("opened_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refresh_due_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("token_expires_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("count_shown", sa.Integer(), nullable=False),
        sa.Column("closes_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["activity_id"],
            ["activities.id"],
            name=op.f("fk_check_in_screens_activity_id_activities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in_screens")),
    )
    op.create_index("ix_check_in_screens_open", "check_in_screens", ["closed_at", "refresh_due_at"])


def downgrade() -> None:
    op.drop_table("check_in_screens")
    op.drop_table("check_in_code_attempts")
    op.drop_table("attendance_changes")
    op.execute("UPDATE participations SET check_in_method = 'qr' WHERE check_in_method = 'code'")
    _set_methods(OLD_METHODS)
    with op.batch_alter_table("participations", schema=None) as batch_op:
        for name in ("made_up_note", "made_up_reported_at", "walk_in", "saplings_planted"):
            batch_op.drop_column(name)
        batch_op.drop_column("checked_out_at")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        for name in (
            "record_closed_at",
            "walk_ins_allowed",
            "check_out_required",
            "check_in_code",
            "check_in_opens_minutes",
            "check_in_radius_m",
            "check_in_by_location",
            "check_in_by_code",
            "check_in_by_qr",
        ):
            batch_op.drop_column(name)
    with op.batch_alter_table("activity_series", schema=None) as batch_op:
        for name in (
            "walk_ins_allowed",
            "check_in_radius_m",
            "check_in_by_location",
            "check_in_by_code",
            "check_in_by_qr",
        ):
            batch_op.drop_column(name)
