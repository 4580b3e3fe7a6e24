"""org units members memberships roles

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=True),
        sa.Column("consent_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("real_name", sa.String(length=50), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=True),
        sa.Column(
            "member_type",
            sa.Enum(
                "regular",
                "floating",
                "undeclared",
                name="member_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("home_branch", sa.String(length=100), nullable=True),
        sa.Column("workplace", sa.String(length=100), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("forgotten_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("unreachable_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("telegram_id", name=op.f("uq_members_telegram_id")),
    )
    op.create_table(
        "org_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "committee",
                "community",
                "branch",
                "group",
                name="unit_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("invite_code", sa.String(length=16), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["org_units.id"], name=op.f("fk_org_units_parent_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_units")),
        sa.UniqueConstraint("code", name=op.f("uq_org_units_code")),
        sa.UniqueConstraint("invite_code", name=op.f("uq_org_units_invite_code")),
    )
    op.create_index(op.f("ix_org_units_parent_id"), "org_units", ["parent_id"], unique=False)

    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "primary",
                "community",
                name="membership_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "active",
                "rejected",
                "left",
                "transferred",
                name="membership_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "via",
            sa.Enum(
                "invite",
                "tree",
                "secretary",
                name="membership_via",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("requested_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("reject_reason", sa.String(length=200), nullable=True),
        sa.Column("ended_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_memberships_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_memberships_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships_member_id"), "memberships", ["member_id"], unique=False)
    op.create_index(
        op.f("ix_memberships_org_unit_id"), "memberships", ["org_unit_id"], unique=False
    )
    op.create_index(
        "uq_memberships_open_per_unit",
        "memberships",
        ["member_id", "org_unit_id"],
        unique=True,
        sqlite_where=sa.text("status IN ('pending', 'active')"),
        postgresql_where=sa.text("status IN ('pending', 'active')"),
    )
    op.create_index(
        "uq_memberships_open_primary",
        "memberships",
        ["member_id"],
        unique=True,
        sqlite_where=sa.text("kind = 'primary' AND status IN ('pending', 'active')"),
        postgresql_where=sa.text("kind = 'primary' AND status IN ('pending', 'active')"),
    )

    op.create_table(
        "role_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "secretary",
                "organizer",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("org_unit_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "(role = 'admin') = (org_unit_id IS NULL)",
            name=op.f("ck_role_grants_admin_has_no_unit"),
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_units.id"],
            name=op.f("fk_role_grants_org_unit_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grants")),
        sa.UniqueConstraint(
            "telegram_id",
            "role",
            "org_unit_id",
            name=op.f("uq_role_grants_telegram_id_role_org_unit_id"),
        ),
    )
    op.create_index(
        op.f("ix_role_grants_org_unit_id"), "role_grants", ["org_unit_id"], unique=False
    )
    op.create_index(
        op.f("ix_role_grants_telegram_id"), "role_grants", ["telegram_id"], unique=False
    )
    op.create_index(
        "uq_role_grants_admin",
        "role_grants",
        ["telegram_id"],
        unique=True,
        sqlite_where=sa.text("org_unit_id IS NULL"),
        postgresql_where=sa.text("org_unit_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("role_grants")
    op.drop_table("memberships")
    op.drop_table("org_units")
    op.drop_table("members")
