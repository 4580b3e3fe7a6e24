"""accounts and inbound updates

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import models.base

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("created_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    op.create_table(
        "inbound_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("received_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbound_updates")),
    )
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_updates_processed_at"), ["processed_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_updates_processed_at"))

    op.drop_table("inbound_updates")
    op.drop_table("accounts")
