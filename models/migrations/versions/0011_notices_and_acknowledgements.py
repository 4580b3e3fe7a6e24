"""notices (通知) and their acknowledgements (签阅), the secretaries' live figures messages,
group chats linked to units, and outbox rows that carry a photo or a document

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "group_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("linked_by", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_unit_id"],
            ["org_units.id"],
            name=op.f("fk_group_links_org_unit_id_org_units"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_links")),
        sa.UniqueConstraint("chat_id", name=op.f("uq_group_links_chat_id")),
        sa.UniqueConstraint("org_unit_id", name=op.f("uq_group_links_org_unit_id")),
    )
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_unit_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column(
            "attachment_kind",
            sa.Enum(
                "photo",
                "document",
                name="notice_attachment",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column("attachment_file_id", sa.String(length=200), nullable=True),
        sa.Column("attachment_name", sa.String(length=255), nullable=True),
        sa.Column(
            "audience",
            sa.Enum(
                "unit",
                "unit_tree",
                "floating",
                "activity",
                "activity_absent",
                "not_acknowledged",
                name="notice_audience",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("audience_activity_id", sa.Integer(), nullable=True),
        sa.Column("audience_notice_id", sa.Integer(), nullable=True),
        sa.Column("ack_required", sa.Boolean(), nullable=False),
        sa.Column("ack_deadline", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("post_to_group", sa.Boolean(), nullable=False),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("send_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recipient_count", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.BigInteger(), nullable=True),
        sa.Column("last_reminded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("group_chat_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["audience_activity_id"],
            ["activities.id"],
            name=op.f("fk_notices_audience_activity_id_activities"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["audience_notice_id"],
            ["notices.id"],
            name=op.f("fk_notices_audience_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_unit_id"], ["org_units.id"], name=op.f("fk_notices_org_unit_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_sent_at"), ["sent_at"], unique=False)
        batch_op.create_index(
            "ix_notices_unit_created", ["org_unit_id", "created_at"], unique=False
        )

    op.create_table(
        "notice_figures_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("shown", sa.String(length=200), nullable=True),
        sa.Column("opened_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_figures_messages_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_figures_messages")),
        sa.UniqueConstraint(
            "notice_id", "chat_id", name=op.f("uq_notice_figures_messages_notice_id_chat_id")
        ),
    )
    op.create_table(
        "notice_recipients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("delivery_key", sa.String(length=160), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "failed",
                "unreachable",
                "expired",
                name="notice_delivery_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=True,
        ),
        sa.Column("delivered_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_notice_recipients_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_recipients_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_recipients")),
        sa.UniqueConstraint("delivery_key", name=op.f("uq_notice_recipients_delivery_key")),
        sa.UniqueConstraint(
            "notice_id", "member_id", name=op.f("uq_notice_recipients_notice_id_member_id")
        ),
    )
    with op.batch_alter_table("notice_recipients", schema=None) as batch_op:
        batch_op.create_index(
            "ix_notice_recipients_member", ["member_id", "notice_id"], unique=False
        )

    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "media_kind",
                sa.Enum(
                    "photo",
                    "document",
                    name="delivery_media",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("media_file_id", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_deliveries_delivery_media"), type_="check")
        batch_op.drop_column("media_file_id")
        batch_op.drop_column("media_kind")

    with op.batch_alter_table("notice_recipients", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_recipients_member")

    op.drop_table("notice_recipients")
    op.drop_table("notice_figures_messages")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_unit_created")
        batch_op.drop_index(batch_op.f("ix_notices_sent_at"))

    op.drop_table("notices")
    op.drop_table("group_links")
